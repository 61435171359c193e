namespace Apex.Grains;

/// <summary>
/// The cluster's one backfill (key 0): admits tracks registered in bulk to scoring, a few at a time, in
/// the order they were registered, so a catalogue never stands in front of tracks registered live.
/// </summary>
[Alias("Apex.Grains.IBackfillGrain")]
public interface IBackfillGrain : IGrainWithIntegerKey
{
    /// <summary>New tracks were catalogued: start admitting (unless paused).</summary>
    [Alias("WakeAsync")]
    Task WakeAsync();

    [Alias("GetAsync")]
    Task<BackfillView> GetAsync();

    /// <summary>Stops admitting (tracks already admitted finish); durable across restarts.</summary>
    [Alias("PauseAsync")]
    Task<BackfillView> PauseAsync();

    [Alias("ResumeAsync")]
    Task<BackfillView> ResumeAsync();

    /// <summary>
    /// A silo's tracks registered live and queued for scoring, reported every admission interval while
    /// there are any (and once when they are gone): the backfill gives way to live tracks on every silo.
    /// </summary>
    [Alias("ReportLiveAsync")]
    [Orleans.Concurrency.OneWay]
    Task ReportLiveAsync(string silo, int queued, DateTimeOffset? oldestSince);
}

/// <summary>The backfill as operators see it, with the tracks registered live that queue across the cluster (it gives way to them).</summary>
[GenerateSerializer]
[Alias("Apex.Grains.BackfillView")]
public sealed record BackfillView(
    [property: Id(0)] bool Paused,
    [property: Id(1)] long Queued,
    [property: Id(2)] DateTimeOffset? OldestQueuedAt,
    [property: Id(3)] int InFlight,
    [property: Id(4)] long Admitted,
    [property: Id(5)] int MaxInFlight,
    [property: Id(6)] int LiveQueued = 0,
    [property: Id(7)] DateTimeOffset? OldestLiveSince = null);
