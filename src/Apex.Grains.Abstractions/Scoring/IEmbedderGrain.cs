namespace Apex.Grains.Scoring;

/// <summary>
/// One embedder: one encoder session on one device of one silo. Its key names the silo and device
/// (<see cref="EmbedderKey"/>), and a placement director puts it on that silo only, which must be
/// one that publishes <c>embedder=gpu</c> (or <c>cpu</c> when the cluster allows CPU embedders).
/// </summary>
[Alias("Apex.Grains.Scoring.IEmbedderGrain")]
public interface IEmbedderGrain : IGrainWithStringKey
{
    /// <summary>
    /// Decodes the track's audio and embeds its segments, batched with other tracks' segments.
    /// Answers <see cref="EmbedStatus.Busy"/> at once when the embedder's queue is full.
    /// </summary>
    [Alias("EmbedAsync")]
    [ResponseTimeout("00:15:00")] // a long track on a CPU embedder takes minutes
    Task<EmbedOutcome> EmbedAsync(EmbedJob job);

    [Alias("GetStatsAsync")]
    Task<EmbedderStats> GetStatsAsync();
}

/// <summary>A track to embed: its id and where its audio is (as registered).</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.EmbedJob")]
public sealed record EmbedJob([property: Id(0)] string TrackId, [property: Id(1)] string AudioLocation);

public enum EmbedStatus
{
    Embedded,

    /// <summary>The queue is full; nothing was started: try again later.</summary>
    Busy,

    /// <summary>The audio cannot be used (missing, not audio, too long…): retrying will not help.</summary>
    BadAudio,
}

/// <summary>What an embedder did with a job; <see cref="Values"/> holds segments × layers × hidden floats.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.EmbedOutcome")]
public sealed record EmbedOutcome(
    [property: Id(0)] EmbedStatus Status,
    [property: Id(1)] string? Error,
    [property: Id(2)] int Segments,
    [property: Id(3)] int Layers,
    [property: Id(4)] int Hidden,
    [property: Id(5)] float[]? Values,
    [property: Id(6)] string Encoder,
    [property: Id(7)] string Silo,
    [property: Id(8)] double DurationSeconds)
{
    public static EmbedOutcome Busy(string silo) => new(EmbedStatus.Busy, "embedder queue full", 0, 0, 0, null, "", silo, 0);
}

/// <summary>What an embedder has done since it started: encoder runs, segments, where it runs and at what precision (fp32, int8).</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.EmbedderStats")]
public sealed record EmbedderStats(
    [property: Id(0)] string Silo,
    [property: Id(1)] int Device,
    [property: Id(2)] string Provider,
    [property: Id(3)] long Runs,
    [property: Id(4)] long Segments,
    [property: Id(5)] long Tracks,
    [property: Id(6)] int LargestBatch,
    [property: Id(7)] int QueuedTracks,
    [property: Id(8)] long Refused,
    [property: Id(9)] string Precision = "fp32");

/// <summary>
/// An embedder's key: "{kind}|{silo address}|{device}", kind gpu or cpu. The silo address is Orleans'
/// parsable form, so the placement director can read which silo the embedder belongs on.
/// </summary>
public static class EmbedderKey
{
    public static string Create(string kind, string siloAddress, int device) => $"{kind}|{siloAddress}|{device}";

    public static (string Kind, string Silo, int Device) Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        // Grains placed the same way (training workers) append their own parts after the third.
        var parts = key.Split('|');
        return parts.Length >= 3 && int.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out var device)
            ? (parts[0], parts[1], device)
            : throw new ArgumentException($"Not an embedder key: '{key}'.", nameof(key));
    }
}
