using Apex.Grains;
using Apex.Grains.Scoring;

namespace Apex.Web.Data;

/// <summary>One platform at a glance: counts, the serving model, how its predictions hold against the live counts, and the cluster's scoring queue.</summary>
public sealed record OverviewData(
    IReadOnlyList<string> Platforms,
    string? Platform,
    long Tracks,
    long Streams,
    long Likes,
    int ScoredTracks,
    int MaturityDays,
    ServingModel? Serving,
    Calibration? Calibration,
    IReadOnlyList<CalibrationPoint> Points,
    BackfillView? Queue = null)
{
    /// <summary>Registered tracks without scores yet (queued, or failed: the track page says which).</summary>
    public long NotScored => Math.Max(0, Tracks - ScoredTracks);
}

/// <summary>The version every silo serves, and its label (<c>synthetic-demo</c>: trained on synthetic data).</summary>
public sealed record ServingModel(string Version, string? Label, DateTimeOffset CreatedAt);
