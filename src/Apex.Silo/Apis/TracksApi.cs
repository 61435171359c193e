using Apex.Grains;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>POST /tracks, GET /tracks/{id}.</summary>
public static class TracksApi
{
    public sealed record RegisterTrackRequest(string? TrackId, string? Platform, DateTimeOffset? CreatedAt, string? AudioPath, bool? Instrumental);

    public sealed record TrackResponse(
        string TrackId,
        string Platform,
        DateTimeOffset CreatedAt,
        string AudioLocation,
        bool? Instrumental,
        long Streams,
        long Likes,
        bool Mature,
        PopularityView Popularity,
        DateTimeOffset RegisteredAt);

    public static IEndpointRouteBuilder MapTracksApi(this IEndpointRouteBuilder app)
    {
        var tracks = app.MapGroup("/tracks").WithTags("tracks");
        tracks.MapPost("/", RegisterAsync).WithName("RegisterTrack").WithSummary("Register a track (audio as a path under the media root).").RequireAuthorization(Roles.Ingest);
        tracks.MapGet("/{id}", GetAsync).WithName("GetTrack").WithSummary("A track's counts, live percentiles and popularity scores, and maturity.").RequireAuthorization(Roles.Reader);
        return app;
    }

    private static async Task<Results<Created<TrackResponse>, Ok<TrackResponse>, ValidationProblem, ProblemHttpResult>> RegisterAsync(
        RegisterTrackRequest request, IGrainFactory grains, IOptions<ApexOptions> options, TimeProvider time)
    {
        var errors = Validate(request, options.Value, out var audio);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The track registration is invalid.");
        }

        TrackRegistered registered;
        try
        {
            registered = await grains.GetGrain<ITrackGrain>(request.TrackId!).RegisterAsync(new TrackRegistration(request.Platform!, request.CreatedAt!.Value, audio!, request.Instrumental));
        }
        catch (TrackConflictException ex)
        {
            return TypedResults.Problem(title: "The track is already registered with other details.", detail: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }

        var response = await ResponseAsync(registered.Track, grains, options.Value, time);
        return registered.Created ? TypedResults.Created($"/tracks/{Uri.EscapeDataString(response.TrackId)}", response) : TypedResults.Ok(response);
    }

    private static async Task<Results<Ok<TrackResponse>, ProblemHttpResult>> GetAsync(string id, IGrainFactory grains, IOptions<ApexOptions> options, TimeProvider time)
    {
        var view = await grains.GetGrain<ITrackGrain>(id).GetAsync();
        return view is null
            ? TypedResults.Problem(title: "Track not found.", detail: $"No track '{id}' is registered.", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(await ResponseAsync(view, grains, options.Value, time));
    }

    private static async Task<TrackResponse> ResponseAsync(TrackView view, IGrainFactory grains, ApexOptions options, TimeProvider time)
    {
        var popularity = await grains.GetGrain<IPopulationGrain>(view.Platform).RankAsync(view.Streams, view.Likes);
        var mature = time.GetUtcNow() - view.CreatedAt > TimeSpan.FromDays(options.MaturityDays);
        return new TrackResponse(view.TrackId, view.Platform, view.CreatedAt, view.AudioLocation, view.Instrumental, view.Streams, view.Likes, mature, popularity, view.RegisteredAt);
    }

    private static Dictionary<string, string[]> Validate(RegisterTrackRequest request, ApexOptions options, out string? audio)
    {
        audio = null;
        var errors = new Dictionary<string, string[]>();
        if (!IsName(request.TrackId, 200))
        {
            errors["track_id"] = ["Required: 1 to 200 of A-Z a-z 0-9 . _ : - (it appears in URLs)."];
        }

        if (!IsName(request.Platform, 100))
        {
            errors["platform"] = ["Required: 1 to 100 of A-Z a-z 0-9 . _ : - (it appears in URLs)."];
        }

        if (request.CreatedAt is null)
        {
            errors["created_at"] = ["Required (ISO 8601 date and time)."];
        }

        if (MediaPath(request.AudioPath, options, out audio) is { } problem)
        {
            errors["audio_path"] = [problem];
        }

        return errors;
    }

    private static bool IsName(string? value, int maxLength) =>
        !string.IsNullOrEmpty(value) && value.Length <= maxLength && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');

    /// <summary>Resolves a path under the media root; never an arbitrary server path.</summary>
    private static string? MediaPath(string? path, ApexOptions options, out string? resolved)
    {
        resolved = null;
        if (string.IsNullOrWhiteSpace(path))
        {
            return "Required: a path relative to the media root.";
        }

        if (options.MediaRoot is null)
        {
            return "This host has no media root (Apex:MediaRoot), so it cannot take audio paths.";
        }

        var root = Path.GetFullPath(options.MediaRoot) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(root, path));
        if (Path.IsPathRooted(path) || !full.StartsWith(root, StringComparison.Ordinal))
        {
            return "Must be a relative path inside the media root.";
        }

        if (!File.Exists(full))
        {
            return $"No file '{path}' under the media root.";
        }

        resolved = Path.GetRelativePath(root, full);
        return null;
    }
}
