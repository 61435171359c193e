using Apex.Core.Metrics;
using Apex.Core.Popularity;
using Apex.Grains.Scoring;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Signals;
using Microsoft.Extensions.Options;

namespace Apex.Grains.Populations;

/// <summary>
/// Keeps a platform's streams and likes distributions in memory (exact, O(log n) per update and read),
/// its listings (the first tracks by streams, likes and creation time) and its sums; on activation it
/// loads every track's totals from the ingest log, which is durable, so it keeps no state of its own. Zero counts are not labels and stay out of the distributions. It lives where it
/// is first called from (an ingesting silo), which saves that silo's hand-offs a network hop.
/// </summary>
[Orleans.Placement.PreferLocalPlacement]
public sealed class PopulationGrain(IIngestLog log, IScoreStore? scores = null, IOptions<SignalOptions>? signalOptions = null, SignalMetrics? signalMetrics = null, TimeProvider? time = null)
    : Grain, IPopulationGrain
{
    private readonly SignalOptions _signals = signalOptions?.Value ?? new SignalOptions();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private Dictionary<string, TrackVelocity> _velocities = new(StringComparer.Ordinal);

    private readonly Dictionary<string, TrackTotals> _tracks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrackPrediction> _predictions = new(StringComparer.Ordinal);
    private CountDistribution _streams = new();
    private CountDistribution _likes = new();
    private TopTracks _byStreams = new(TrackListing.MaxLimit);
    private TopTracks _byLikes = new(TrackListing.MaxLimit);
    private TopTracks _newest = new(TrackListing.MaxLimit);
    private long _streamsSum;
    private long _likesSum;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await LoadTotalsAsync(cancellationToken);
        // The first refresh soon after activation, so a restarted silo knows its breakouts again within seconds.
        var first = _signals.Refresh < TimeSpan.FromSeconds(5) ? _signals.Refresh : TimeSpan.FromSeconds(5);
        this.RegisterGrainTimer(_ => RefreshSignalsAsync(), new GrainTimerCreationOptions(first, _signals.Refresh));

        if (scores is not null)
        {
            foreach (var prediction in await scores.LoadPredictionsAsync(this.GetPrimaryKeyString(), cancellationToken))
            {
                _predictions[prediction.TrackId] = prediction;
            }
        }
    }

    async Task IPopulationGrain.ReloadAsync()
    {
        _tracks.Clear();
        _streams = new CountDistribution();
        _likes = new CountDistribution();
        _byStreams = new TopTracks(TrackListing.MaxLimit);
        _byLikes = new TopTracks(TrackListing.MaxLimit);
        _newest = new TopTracks(TrackListing.MaxLimit);
        _streamsSum = _likesSum = 0;
        await LoadTotalsAsync(CancellationToken.None);
    }

    private async Task LoadTotalsAsync(CancellationToken cancellationToken)
    {
        foreach (var totals in await log.ReadPlatformTotalsAsync(this.GetPrimaryKeyString(), cancellationToken))
        {
            Set(totals);
        }
    }

    Task<IReadOnlyList<TrackListing>> IPopulationGrain.ListTracksAsync(TrackSort sort, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, TrackListing.MaxLimit);
        var (top, key) = sort switch
        {
            TrackSort.Streams => (_byStreams, (Func<TrackTotals, long>)(t => t.Streams)),
            TrackSort.Likes => (_byLikes, t => t.Likes),
            TrackSort.Newest => (_newest, t => t.CreatedAt.UtcTicks),
            _ => throw new ArgumentOutOfRangeException(nameof(sort), sort, "An unnamed listing order."),
        };
        if (top.Stale)
        {
            top.Rebuild(_tracks.Values.Select(t => (t.TrackId, key(t))));
        }

        IReadOnlyList<TrackListing> listing = [.. top.First(limit).Select(id => _tracks[id]).Select(t => new TrackListing(t.TrackId, t.CreatedAt, t.Streams, t.Likes))];
        return Task.FromResult(listing);
    }

    Task<PlatformSummary> IPopulationGrain.SummarizeAsync() => Task.FromResult(new PlatformSummary(_tracks.Count, _streamsSum, _likesSum));

    Task IPopulationGrain.RecordPredictionAsync(TrackPrediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        _predictions[prediction.TrackId] = prediction;
        return Task.CompletedTask;
    }

    Task<Calibration> IPopulationGrain.GetCalibrationAsync(DateTimeOffset matureBefore)
    {
        var mature = _predictions.Values.Where(p => p.CreatedAt < matureBefore).ToList();
        var streams = Calibrate(mature.Select(p => (p.Streams, Actual(_streams, Totals(p.TrackId)?.Streams ?? 0))));
        var likes = Calibrate(mature.Select(p => (p.Likes, Actual(_likes, Totals(p.TrackId)?.Likes ?? 0))));
        var versions = mature.Select(p => p.ModelVersion).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return Task.FromResult(new Calibration(mature.Count, streams, likes, versions));
    }

    Task<IReadOnlyList<EmergingTrack>> IPopulationGrain.GetEmergingAsync(DateTimeOffset createdAfter, int limit, EmergingRank rank)
    {
        var tracks = _predictions.Values
            .Where(p => p.CreatedAt >= createdAfter)
            .Select(p =>
            {
                var totals = Totals(p.TrackId);
                var actualStreams = Actual(_streams, totals?.Streams ?? 0) ?? 0;
                var actualLikes = Actual(_likes, totals?.Likes ?? 0) ?? 0;
                var velocity = _velocities.GetValueOrDefault(p.TrackId);
                // Potential: half what the model predicts, half how fast the track is taking off against its cohort.
                var potential = (p.Streams + (velocity?.VelocityScore ?? 0)) / 2;
                return new EmergingTrack(p.TrackId, p.CreatedAt, p.Streams, actualStreams, p.Streams - actualStreams, p.Likes, actualLikes,
                    totals?.Streams ?? 0, totals?.Likes ?? 0, p.ModelVersion, p.ModelLabel, velocity?.StreamsPerHour, velocity?.VelocityScore, potential);
            });
        IReadOnlyList<EmergingTrack> emerging = [.. (rank == EmergingRank.Gap ? tracks.OrderByDescending(e => e.Gap) : tracks.OrderByDescending(e => e.Potential))
            .ThenBy(e => e.TrackId, StringComparer.Ordinal)
            .Take(limit)];
        return Task.FromResult(emerging);
    }

    Task<IReadOnlyList<TrackVelocity>> IPopulationGrain.GetBreakoutsAsync()
    {
        IReadOnlyList<TrackVelocity> breakouts = [.. _velocities.Values.Where(v => v.IsBreakout).OrderByDescending(v => v.Z).ThenBy(v => v.TrackId, StringComparer.Ordinal)];
        return Task.FromResult(breakouts);
    }

    Task<TrackVelocity?> IPopulationGrain.GetVelocityAsync(string trackId) => Task.FromResult(_velocities.GetValueOrDefault(trackId));

    public async Task RefreshSignalsAsync()
    {
        // Young tracks only: their hourly buckets of the last 48 hours, from the log's curves.
        var now = _time.GetUtcNow();
        var young = _tracks.Values.Where(t => t.CreatedAt != default && t.CreatedAt >= now - TimeSpan.FromDays(_signals.YoungDays)).ToList();
        var sums = young.ToDictionary(t => t.TrackId, _ => (Last: 0L, Previous: 0L), StringComparer.Ordinal);
        if (young.Count > 0)
        {
            foreach (var point in await log.ReadHourlyAsync([.. sums.Keys], now - TimeSpan.FromHours(48)))
            {
                var (last, previous) = sums[point.TrackId];
                sums[point.TrackId] = point.Start >= now - TimeSpan.FromHours(24) ? (last + point.Streams, previous) : (last, previous + point.Streams);
            }
        }

        var held = _velocities.Values.Where(v => v.BreakoutSince is not null).ToDictionary(v => v.TrackId, v => v.BreakoutSince!.Value, StringComparer.Ordinal);
        var samples = young.Select(t => new BreakoutDetector.Sample(t.TrackId, t.CreatedAt, sums[t.TrackId].Last, sums[t.TrackId].Previous, _predictions.GetValueOrDefault(t.TrackId)?.Streams)).ToList();
        _velocities = BreakoutDetector.Detect(samples, now, _signals, held).ToDictionary(v => v.TrackId, StringComparer.Ordinal);
        var platform = this.GetPrimaryKeyString();
        var breakouts = _velocities.Values.Where(v => v.IsBreakout).ToList();
        signalMetrics?.Observe(platform, breakouts.Count, breakouts.Count(v => !held.ContainsKey(v.TrackId)));

        // Every breakout every time: the feed records a track's first one only (its key), so one lost here
        // (the feed unreachable) is recorded at the next refresh.
        if (breakouts.Count == 0)
        {
            return;
        }

        await GrainFactory.GetGrain<ISignalFeedGrain>(0).PublishAsync(
            [.. breakouts.Select(v => new SignalEvent(0, SignalEvent.Breakout, $"breakout:{platform}:{v.TrackId}", platform, v.TrackId, v.BreakoutSince ?? now, SignalJson.Write(v)))]);
    }

    Task<CalibrationPoints> IPopulationGrain.GetCalibrationPointsAsync(DateTimeOffset matureBefore, int limit)
    {
        var mature = _predictions.Values.Where(p => p.CreatedAt < matureBefore).OrderBy(p => p.TrackId, StringComparer.Ordinal).ToList();
        var step = Math.Max(1.0, mature.Count / (double)Math.Max(1, limit));
        var points = new List<CalibrationPoint>(Math.Min(limit, mature.Count));
        for (var i = 0.0; (int)i < mature.Count && points.Count < limit; i += step)
        {
            var p = mature[(int)i];
            var totals = Totals(p.TrackId);
            points.Add(new CalibrationPoint(p.TrackId, p.Streams, Actual(_streams, totals?.Streams ?? 0), p.Likes, Actual(_likes, totals?.Likes ?? 0)));
        }

        return Task.FromResult(new CalibrationPoints(_predictions.Count, mature.Count, points));
    }

    private TrackTotals? Totals(string trackId) => _tracks.GetValueOrDefault(trackId);

    /// <summary>The live popularity score of a count; null for zero, which is not a label.</summary>
    private static double? Actual(CountDistribution distribution, long count) => Rank(distribution, count).Score;

    private static CalibrationTask Calibrate(IEnumerable<(double Predicted, double? Actual)> pairs)
    {
        var labelled = pairs.Where(p => p.Actual is not null).Select(p => (p.Predicted, Actual: p.Actual!.Value)).OrderBy(p => p.Predicted).ToList();
        if (labelled.Count == 0)
        {
            return new CalibrationTask(0, null, null, []);
        }

        var predicted = labelled.Select(p => p.Predicted).ToArray();
        var actual = labelled.Select(p => p.Actual).ToArray();
        var deciles = labelled
            .Select((p, i) => (p, Decile: 1 + (i * 10 / labelled.Count)))
            .GroupBy(x => x.Decile)
            .Select(g => new CalibrationDecile(g.Key, g.Count(), g.Average(x => x.p.Predicted), g.Average(x => x.p.Actual)))
            .ToList();
        double? pearson = labelled.Count > 1 ? RegressionMetrics.Pearson(predicted, actual) : null;
        return new CalibrationTask(labelled.Count, pearson is { } r && double.IsFinite(r) ? r : null, RegressionMetrics.MeanAbsoluteError(predicted, actual), deciles);
    }

    Task IPopulationGrain.UpdateAsync(IReadOnlyList<TrackTotals> totals)
    {
        foreach (var t in totals)
        {
            Set(t);
        }

        return Task.CompletedTask;
    }

    Task<PopularityView> IPopulationGrain.RankAsync(long streams, long likes)
    {
        var (sp, ss) = Rank(_streams, streams);
        var (lp, ls) = Rank(_likes, likes);
        return Task.FromResult(new PopularityView(_streams.Total, sp, ss, _likes.Total, lp, ls));
    }

    private static (double? Percentile, double? Score) Rank(CountDistribution distribution, long count)
    {
        if (count <= 0 || distribution.Total == 0)
        {
            return (null, null);
        }

        var p = distribution.Percentile(count);
        return (p, PopularityScore.FromPercentile(p));
    }

    private void Set(TrackTotals totals)
    {
        // Hand-offs from concurrent commits can arrive out of order: a track's totals only move forward.
        var old = _tracks.GetValueOrDefault(totals.TrackId);
        if (old is not null && old.LastSeq >= totals.LastSeq)
        {
            return;
        }

        if (totals.CreatedAt == default && old is not null)
        {
            // A sender that does not know the creation time (an older silo) keeps the one held.
            totals = totals with { CreatedAt = old.CreatedAt };
        }

        Replace(_streams, old?.Streams ?? 0, totals.Streams);
        Replace(_likes, old?.Likes ?? 0, totals.Likes);
        _streamsSum += totals.Streams - (old?.Streams ?? 0);
        _likesSum += totals.Likes - (old?.Likes ?? 0);
        _tracks[totals.TrackId] = totals;
        _byStreams.Offer(totals.TrackId, totals.Streams);
        _byLikes.Offer(totals.TrackId, totals.Likes);
        _newest.Offer(totals.TrackId, totals.CreatedAt.UtcTicks);
    }

    private static void Replace(CountDistribution distribution, long from, long to)
    {
        if (from == to)
        {
            return;
        }

        if (from > 0)
        {
            distribution.Remove(from);
        }

        if (to > 0)
        {
            distribution.Add(to);
        }
    }
}
