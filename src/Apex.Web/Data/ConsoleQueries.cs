using Apex.Grains;
using Apex.Grains.Arena;
using Apex.Grains.Ingest;
using Apex.Grains.Training;
using Apex.Scoring;

namespace Apex.Web.Data;

/// <summary>
/// What the console's pages read and do, through the same grains, ingest log and model registry as
/// the JSON API: a page never holds data of its own.
/// </summary>
public sealed class ConsoleQueries(IGrainFactory grains, IIngestLog log, ModelRegistry registry, TimeProvider time, ConsoleSettings settings, Apex.Grains.Signals.SignalFeed? feed = null)
{
    /// <summary>Points drawn in the predicted-vs-actual scatter: enough to see the shape, few enough to send.</summary>
    public const int ScatterPoints = 2_000;

    public static readonly IReadOnlyList<string> Scopes = ["overall", "instrumental", "vocal"];

    public Task<IReadOnlyList<string>> PlatformsAsync(CancellationToken cancellationToken = default) => log.ListPlatformsAsync(cancellationToken);

    public async Task<OverviewData> OverviewAsync(string? platform, CancellationToken cancellationToken = default)
    {
        var platforms = await log.ListPlatformsAsync(cancellationToken);
        var chosen = platform is not null && platforms.Contains(platform, StringComparer.Ordinal) ? platform : platforms.Count > 0 ? platforms[0] : null;
        var serving = Serving();
        if (chosen is null)
        {
            return new OverviewData(platforms, null, 0, 0, 0, 0, settings.MaturityDays, serving, null, []);
        }

        var matureBefore = time.GetUtcNow() - TimeSpan.FromDays(settings.MaturityDays);
        var population = grains.GetGrain<IPopulationGrain>(chosen);
        var summaryTask = population.SummarizeAsync();
        var calibrationTask = population.GetCalibrationAsync(matureBefore);
        var pointsTask = population.GetCalibrationPointsAsync(matureBefore, ScatterPoints);
        var queueTask = grains.GetGrain<IBackfillGrain>(0).GetAsync();
        var summary = await summaryTask;
        var points = await pointsTask;
        return new OverviewData(platforms, chosen, summary.Tracks, summary.Streams, summary.Likes, points.ScoredTracks,
            settings.MaturityDays, serving, await calibrationTask, points.Points, await queueTask);
    }

    /// <summary>The signals the overview shows live: breakouts, promotions and calibration drifts (every scored track would drown them).</summary>
    public static readonly IReadOnlyList<string> LiveSignalTypes = [Apex.Grains.Signals.SignalEvent.Breakout, Apex.Grains.Signals.SignalEvent.ModelPromoted, Apex.Grains.Signals.SignalEvent.CalibrationDrift];

    /// <summary>The latest live signals, newest first (none on a host without a feed).</summary>
    public async Task<IReadOnlyList<Apex.Grains.Signals.SignalEvent>> SignalsAsync(int limit, CancellationToken cancellationToken = default) =>
        feed is null ? [] : await feed.ReadLatestAsync(limit, LiveSignalTypes, cancellationToken);

    public async Task<IReadOnlyList<Apex.Grains.Scoring.EmergingTrack>> EmergingAsync(string platform, TimeSpan window, int limit) =>
        await grains.GetGrain<IPopulationGrain>(platform).GetEmergingAsync(time.GetUtcNow() - window, limit, Apex.Grains.Scoring.EmergingRank.Potential);

    public async Task<TrackData?> TrackAsync(string id)
    {
        if (await grains.GetGrain<ITrackGrain>(id).GetAsync() is not { } track)
        {
            return null;
        }

        var popularity = await grains.GetGrain<IPopulationGrain>(track.Platform).RankAsync(track.Streams, track.Likes);
        var mature = time.GetUtcNow() - track.CreatedAt > TimeSpan.FromDays(settings.MaturityDays);
        return new TrackData(track, popularity, mature, settings.MaturityDays);
    }

    public Task<LeaderboardView> LeaderboardAsync(string scope) => grains.GetGrain<ILeaderboardGrain>(scope).GetAsync();

    /// <summary>The next pair for a voter (null with fewer than two systems' tracks).</summary>
    public Task<ArenaPairView?> NextPairAsync() => grains.GetGrain<IArenaPoolGrain>(0).NextPairAsync();

    /// <summary>A track of the arena's pool, or null.</summary>
    public Task<ArenaEntry?> ArenaTrackAsync(string trackId) => grains.GetGrain<IArenaPoolGrain>(0).GetAsync(trackId);

    public async Task<ModelsData> ModelsAsync()
    {
        var trainer = grains.GetGrain<ITrainerGrain>(0);
        var runs = trainer.ListRunsAsync();
        var drift = trainer.GetDriftAsync();
        var rollout = trainer.GetRolloutAsync();
        return new ModelsData(registry.ServingVersion(), registry.Versions(), registry.History(), await runs, await drift, await rollout);
    }

    /// <summary>Serves <paramref name="version"/> on every silo and re-scores with it; answers the serving version.</summary>
    public Task<string> PromoteAsync(string version) => grains.GetGrain<ITrainerGrain>(0).PromoteAsync(version);

    /// <summary>Serves the version served before the current one; null when there is none.</summary>
    public Task<string?> RollbackAsync() => grains.GetGrain<ITrainerGrain>(0).RollbackAsync();

    private ServingModel? Serving() =>
        registry.Versions().FirstOrDefault(v => v.Status == "serving") is { Manifest: { } m }
            ? new ServingModel(m.Version, m.Label, m.CreatedAt)
            : null;
}
