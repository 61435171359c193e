using System.Diagnostics.Metrics;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Apex.Grains.Populations;

/// <summary>
/// Hands committed totals to the platforms' population grains. The hand-off is derived data and never
/// decides an acknowledgement: it is tried at once for a short while, and what does not get through
/// (the grain's silo died and is not yet declared dead, a timeout) waits here and is retried in the
/// background with exponential backoff and jitter until it does. Waiting totals are merged per track,
/// the newest winning, so what waits is bounded by the tracks touched, not by the traffic.
/// A hand-off that dies with its silo is repaired by <see cref="PopulationReconciler"/>.
/// </summary>
public sealed partial class PopulationHandoff : IAsyncDisposable
{
    /// <summary>How long a request waits for the hand-off before leaving it to the background.</summary>
    public static readonly TimeSpan InlineWait = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between background attempts: a reachable grain has the totals this long after it is reachable.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    private readonly IGrainFactory _grains;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, TrackTotals>> _waiting = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public PopulationHandoff(IGrainFactory grains, ILogger<PopulationHandoff>? logger = null, IMeterFactory? meters = null)
    {
        _grains = grains;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        meters?.Create(IngestMetrics.MeterName).CreateObservableGauge("apex.ingest.handoff.waiting", () => Waiting, "{track}",
            "Track totals committed but not yet taken by their population grain (retried in the background).");
        _loop = Task.Run(RetryLoopAsync);
    }

    /// <summary>Totals waiting for a population grain that could not take them yet.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Values.Sum(w => w.Count);
            }
        }
    }

    /// <summary>Hands the totals over; returns once they are with their grains or left to the background, never with an error.</summary>
    public Task HandAsync(IReadOnlyList<TrackTotals> totals, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(totals);
        return Task.WhenAll(totals.GroupBy(t => t.Platform, StringComparer.Ordinal).Select(async platform =>
        {
            var list = platform.ToList();
            try
            {
                await _grains.GetGrain<IPopulationGrain>(platform.Key).UpdateAsync(list).WaitAsync(InlineWait, cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Unreachable grain, timeout, or the request gone after its commit: the totals still go to the grain.
                LogDeferred(_logger, platform.Key, list.Count, ex.GetType().Name);
                Defer(platform.Key, list);
            }
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        _signal.Dispose();
    }

    private void Defer(string platform, IEnumerable<TrackTotals> totals)
    {
        lock (_gate)
        {
            if (!_waiting.TryGetValue(platform, out var tracks))
            {
                _waiting[platform] = tracks = new Dictionary<string, TrackTotals>(StringComparer.Ordinal);
            }

            foreach (var t in totals)
            {
                if (!tracks.TryGetValue(t.TrackId, out var held) || held.LastSeq < t.LastSeq)
                {
                    tracks[t.TrackId] = t;
                }
            }
        }

        _signal.Release();
    }

    private async Task RetryLoopAsync()
    {
        var backoff = FirstBackoff;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(_stop.Token);
                // Full jitter: silos retrying after the same outage do not arrive together.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * backoff.TotalMilliseconds), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            List<(string Platform, List<TrackTotals> Totals)> batch;
            lock (_gate)
            {
                batch = _waiting.Select(w => (w.Key, w.Value.Values.ToList())).ToList();
                _waiting.Clear();
            }

            var failed = false;
            foreach (var (platform, totals) in batch)
            {
                try
                {
                    await _grains.GetGrain<IPopulationGrain>(platform).UpdateAsync(totals).WaitAsync(MaxBackoff, _stop.Token);
                }
                catch (Exception ex) when (!_stop.IsCancellationRequested)
                {
                    failed = true;
                    LogRetryFailed(_logger, platform, totals.Count, ex.GetType().Name);
                    Defer(platform, totals);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            backoff = failed ? TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2)) : FirstBackoff;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Population hand-off for {Platform} ({Tracks} tracks) left to the background: {Reason}")]
    private static partial void LogDeferred(ILogger logger, string platform, int tracks, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Population hand-off for {Platform} ({Tracks} tracks) not through yet: {Reason}")]
    private static partial void LogRetryFailed(ILogger logger, string platform, int tracks, string reason);
}
