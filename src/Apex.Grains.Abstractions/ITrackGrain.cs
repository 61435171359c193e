namespace Apex.Grains;

/// <summary>One track of a platform, keyed by its track id.</summary>
[Alias("Apex.Grains.ITrackGrain")]
public interface ITrackGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers the track. Registering again with the same details is a no-op (a client retry);
    /// with different details it is refused, so a track id never silently changes meaning.
    /// </summary>
    [Alias("RegisterAsync")]
    Task<TrackRegistered> RegisterAsync(TrackRegistration registration);

    /// <summary>The track, or null when it was never registered.</summary>
    [Alias("GetAsync")]
    Task<TrackView?> GetAsync();

    /// <summary>Tries to score a queued track now (instead of at its next retry); answers its scoring state.</summary>
    [Alias("ScoreNowAsync")]
    Task<Scoring.TrackScoring?> ScoreNowAsync();

    /// <summary>
    /// The backfill admits a track registered in bulk: its registration becomes durable grain state and it
    /// is queued like a track registered live (retried until scored). True once admitted (also when it
    /// was before, or was registered live); false for a track never registered.
    /// </summary>
    [Alias("AdmitAsync")]
    Task<bool> AdmitAsync();

    /// <summary>What a queued track waited for has arrived (an embedder, the database): try again now.</summary>
    [Alias("WakeAsync")]
    Task WakeAsync();

    /// <summary>
    /// Re-scores a scored track from its stored embedding with model <paramref name="version"/>; false
    /// while this track's silo does not serve that version yet (the caller retries).
    /// </summary>
    [Alias("RescoreAsync")]
    Task<bool> RescoreAsync(string version);
}
