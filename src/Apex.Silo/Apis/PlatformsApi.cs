using Apex.Grains;
using Apex.Grains.Scoring;
using Apex.Silo.Hosting;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>
/// GET /platforms/{platform}/tracks: a platform's tracks by streams, likes or age, from its population
/// grain (the totals each commit hands it; after a silo loss, once the grain has reloaded from the log).
/// </summary>
public static class PlatformsApi
{
    public const int MaxLimit = TrackListing.MaxLimit;

    public static IEndpointRouteBuilder MapPlatformsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/platforms/{platform}/tracks", ListAsync)
            .WithName("ListPlatformTracks")
            .WithSummary("A platform's tracks, sorted by streams, likes or newest first.")
            .WithTags("platforms")
            .RequireAuthorization(Roles.Reader);
        app.MapGet("/platforms/{platform}/emerging", EmergingAsync)
            .WithName("EmergingTracks")
            .WithSummary("Young scored tracks (created within the window, e.g. 14d or 36h): rank=potential (default) orders them by (predicted streams score + velocity score in their cohort) / 2, rank=gap by predicted minus actual streams score.")
            .WithTags("platforms")
            .RequireAuthorization(Roles.Reader);
        app.MapGet("/platforms/{platform}/breakouts", BreakoutsAsync)
            .WithName("Breakouts")
            .WithSummary("Young tracks whose streams per hour are far above their cohort's (same platform, same age band) or far above what their predicted scores imply, as of the last refresh (every minute).")
            .WithTags("platforms")
            .RequireAuthorization(Roles.Reader);
        app.MapGet("/platforms/{platform}/calibration", CalibrationAsync)
            .WithName("Calibration")
            .WithSummary("Over the platform's mature scored tracks: Pearson, MAE and a decile table of predicted vs actual popularity, per task.")
            .WithTags("platforms")
            .RequireAuthorization(Roles.Reader);
        return app;
    }

    public sealed record EmergingResponse(string Platform, double WindowDays, string Rank, IReadOnlyList<EmergingTrack> Tracks);

    public sealed record BreakoutsResponse(string Platform, IReadOnlyList<Apex.Grains.Signals.TrackVelocity> Tracks);

    private static async Task<Results<Ok<BreakoutsResponse>, ValidationProblem>> BreakoutsAsync(string platform, IGrainFactory grains)
    {
        var errors = new Dictionary<string, string[]>();
        CheckPlatform(platform, errors);
        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors)
            : TypedResults.Ok(new BreakoutsResponse(platform, await grains.GetGrain<IPopulationGrain>(platform).GetBreakoutsAsync()));
    }

    public sealed record CalibrationResponse(string Platform, int MaturityDays, int MatureScoredTracks, CalibrationTask Streams, CalibrationTask Likes, IReadOnlyList<string> ModelVersions);

    private static async Task<Results<Ok<EmergingResponse>, ValidationProblem>> EmergingAsync(string platform, IGrainFactory grains, TimeProvider time, string window = "14d", int limit = 50, string rank = "potential")
    {
        var errors = new Dictionary<string, string[]>();
        CheckPlatform(platform, errors);
        var span = ParseWindow(window);
        if (span is null)
        {
            errors["window"] = ["A duration such as 14d, 36h or 90m (at most 3650d)."];
        }

        if (limit is < 1 or > MaxLimit)
        {
            errors["limit"] = [$"Between 1 and {MaxLimit}."];
        }

        EmergingRank? order = rank switch { "potential" => EmergingRank.Potential, "gap" => EmergingRank.Gap, _ => null };
        if (order is null)
        {
            errors["rank"] = ["potential or gap."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var tracks = await grains.GetGrain<IPopulationGrain>(platform).GetEmergingAsync(time.GetUtcNow() - span!.Value, limit, order!.Value);
        return TypedResults.Ok(new EmergingResponse(platform, span!.Value.TotalDays, rank, tracks));
    }

    private static async Task<Results<Ok<CalibrationResponse>, ValidationProblem>> CalibrationAsync(string platform, IGrainFactory grains, TimeProvider time, IOptions<ApexOptions> options)
    {
        var errors = new Dictionary<string, string[]>();
        CheckPlatform(platform, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var days = options.Value.MaturityDays;
        var calibration = await grains.GetGrain<IPopulationGrain>(platform).GetCalibrationAsync(time.GetUtcNow() - TimeSpan.FromDays(days));
        return TypedResults.Ok(new CalibrationResponse(platform, days, calibration.MatureScoredTracks, calibration.Streams, calibration.Likes, calibration.ModelVersions));
    }

    /// <summary>A platform in a path is in the domain registration gives it, so no read activates a grain for a name no track can have.</summary>
    private static void CheckPlatform(string platform, Dictionary<string, string[]> errors)
    {
        if (!Domains.IsName(platform, Domains.MaxPlatform))
        {
            errors["platform"] = [$"{Domains.NameRule(Domains.MaxPlatform)}."];
        }
    }

    private static TimeSpan? ParseWindow(string window)
    {
        // Finite and at most 3650 days in any unit before a TimeSpan is made of it (NaN or 1e308 would throw).
        if (window.Length < 2 || window.Length > 16
            || !double.TryParse(window[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var amount)
            || !double.IsFinite(amount) || amount <= 0 || amount > 3650 * 24 * 60)
        {
            return null;
        }

        TimeSpan? span = window[^1] switch
        {
            'd' => TimeSpan.FromDays(amount),
            'h' => TimeSpan.FromHours(amount),
            'm' => TimeSpan.FromMinutes(amount),
            _ => null,
        };
        return span is { } s && s <= TimeSpan.FromDays(3650) ? s : null;
    }

    private static async Task<Results<Ok<IReadOnlyList<TrackListing>>, ValidationProblem>> ListAsync(string platform, IGrainFactory grains, string sort = "streams", int limit = 50)
    {
        var errors = new Dictionary<string, string[]>();
        CheckPlatform(platform, errors);
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
            : TypedResults.Ok(await grains.GetGrain<IPopulationGrain>(platform).ListTracksAsync(order, limit));
    }
}
