namespace Apex.Silo.Apis;

/// <summary>
/// A queued or failed track's reason as a reader sees it: what is happening, without the cluster's
/// internals (silo addresses, database or exception messages), which only admins see.
/// </summary>
public static class ScoringReasons
{
    public static string? ForReader(string? reason) => reason switch
    {
        null => null,
        _ when reason.StartsWith("embedding on ", StringComparison.Ordinal) => "embedding",
        _ when reason.StartsWith("waiting for the database", StringComparison.Ordinal) => "waiting for the database",
        _ when reason.StartsWith("embedder ", StringComparison.Ordinal) && reason.Contains(" was busy", StringComparison.Ordinal) => "embedders are busy; it will be retried",
        _ when reason.StartsWith("embedder ", StringComparison.Ordinal) => "an embedder failed; it will be retried",
        _ when reason.StartsWith("the serving model cannot score this track", StringComparison.Ordinal) => "the serving model cannot score this track",
        // Fixed texts, and decode failures (their kind and the audio as registered).
        _ => reason,
    };
}
