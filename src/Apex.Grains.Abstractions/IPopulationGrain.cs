using Apex.Grains.Events;

namespace Apex.Grains;

/// <summary>The distribution of streams and likes counts over one platform's tracks (key: platform).</summary>
[Alias("Apex.Grains.IPopulationGrain")]
public interface IPopulationGrain : IGrainWithStringKey
{
    /// <summary>Takes tracks' new totals (absolute, so a repeat is harmless).</summary>
    [Alias("UpdateAsync")]
    Task UpdateAsync(IReadOnlyList<TrackTotals> totals);

    /// <summary>Drops what it holds and reloads every track's totals from the ingest log (repairs lost hand-offs).</summary>
    [Alias("ReloadAsync")]
    Task ReloadAsync();

    /// <summary>Where a track with these counts stands in the platform now.</summary>
    [Alias("RankAsync")]
    Task<PopularityView> RankAsync(long streams, long likes);

    /// <summary>
    /// The platform's first tracks by streams, likes or creation time (highest first, ties by track id),
    /// at most <see cref="TrackListing.MaxLimit"/>.
    /// </summary>
    [Alias("ListTracksAsync")]
    Task<IReadOnlyList<TrackListing>> ListTracksAsync(TrackSort sort, int limit);

    /// <summary>The platform's registered tracks and their summed counts.</summary>
    [Alias("SummarizeAsync")]
    Task<PlatformSummary> SummarizeAsync();

    /// <summary>Takes a scored track's predictions (the latest per track counts).</summary>
    [Alias("RecordPredictionAsync")]
    Task RecordPredictionAsync(Scoring.TrackPrediction prediction);

    /// <summary>Predicted vs actual over the scored tracks created before <paramref name="matureBefore"/>.</summary>
    [Alias("GetCalibrationAsync")]
    Task<Scoring.Calibration> GetCalibrationAsync(DateTimeOffset matureBefore);

    /// <summary>Scored tracks created after <paramref name="createdAfter"/>, in the order <paramref name="rank"/> names.</summary>
    [Alias("GetEmergingRankedAsync")]
    Task<IReadOnlyList<Scoring.EmergingTrack>> GetEmergingAsync(DateTimeOffset createdAfter, int limit, Scoring.EmergingRank rank);

    /// <summary>The platform's young tracks breaking out now, fastest against their cohort first.</summary>
    [Alias("GetBreakoutsAsync")]
    Task<IReadOnlyList<Signals.TrackVelocity>> GetBreakoutsAsync();

    /// <summary>A young track's velocity as of the last refresh; null for an unknown or older track.</summary>
    [Alias("GetVelocityAsync")]
    Task<Signals.TrackVelocity?> GetVelocityAsync(string trackId);

    /// <summary>Computes the young tracks' velocities and breakouts again now (a timer does it every Apex:Signals:Refresh).</summary>
    [Alias("RefreshSignalsAsync")]
    Task RefreshSignalsAsync();

    /// <summary>
    /// How many of the platform's tracks are scored, and predicted vs actual per mature scored track (at
    /// most <paramref name="limit"/>, spread evenly over them in track-id order): what a scatter plot draws.
    /// </summary>
    [Alias("GetCalibrationPointsAsync")]
    Task<Scoring.CalibrationPoints> GetCalibrationPointsAsync(DateTimeOffset matureBefore, int limit);
}

/// <summary>
/// Live percentiles and popularity scores (100·p^k) of a streams and a likes count within a platform;
/// null for a zero count, which is not a label.
/// </summary>
[GenerateSerializer]
[Alias("Apex.Grains.PopularityView")]
public sealed record PopularityView(
    [property: Id(0)] long TracksWithStreams,
    [property: Id(1)] double? StreamsPercentile,
    [property: Id(2)] double? StreamsScore,
    [property: Id(3)] long TracksWithLikes,
    [property: Id(4)] double? LikesPercentile,
    [property: Id(5)] double? LikesScore);
