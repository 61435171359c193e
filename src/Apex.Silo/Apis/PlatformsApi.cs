using Apex.Grains.Ingest;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>GET /platforms/{platform}/tracks: a platform's tracks by streams, likes or age.</summary>
public static class PlatformsApi
{
    public const int MaxLimit = 1_000;

    public static IEndpointRouteBuilder MapPlatformsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/platforms/{platform}/tracks", ListAsync)
            .WithName("ListPlatformTracks")
            .WithSummary("A platform's tracks, sorted by streams, likes or newest first.")
            .WithTags("platforms")
            .RequireAuthorization(Roles.Reader);
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<TrackListing>>, ValidationProblem>> ListAsync(string platform, IIngestLog log, CancellationToken cancellationToken, string sort = "streams", int limit = 50)
    {
        var errors = new Dictionary<string, string[]>();
        if (!Enum.TryParse<TrackSort>(sort, ignoreCase: true, out var order) || int.TryParse(sort, out _))
        {
            errors["sort"] = ["One of streams, likes, newest."];
        }

        if (limit is < 1 or > MaxLimit)
        {
            errors["limit"] = [$"Between 1 and {MaxLimit}."];
        }

        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors)
            : TypedResults.Ok(await log.ListTracksAsync(platform, order, limit, cancellationToken));
    }
}
