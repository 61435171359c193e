using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Apex.Grains.Scoring;

/// <summary>What a queued track waits for.</summary>
public enum ScoringWait
{
    /// <summary>No active silo can run an embedder.</summary>
    Embedder,

    /// <summary>A store (the database) failed on the last try.</summary>
    Database,

    /// <summary>Anything else (a busy embedder, no serving model): retried with backoff alone.</summary>
    Retry,
}

/// <summary>
/// The queued tracks of this silo's activations and what each waits for. Track grains back off on
/// their own; <see cref="ScoringWakeups"/> wakes the ones waiting for an embedder or the database when
/// that arrives, so that no grain polls for it. Also what the queued-work metric and readiness report.
/// </summary>
public sealed class ScoringWaiters
{
    public const string MeterName = "Apex.Scoring.Queue";

    private readonly ConcurrentDictionary<string, ScoringWait> _waiting = new(StringComparer.Ordinal);

    public ScoringWaiters(IMeterFactory? meters = null)
    {
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        meter.CreateObservableGauge("apex.scoring.queued", () => Counts().Select(c => new Measurement<int>(c.Value, new KeyValuePair<string, object?>("waiting_for", c.Key.ToString().ToLowerInvariant()))),
            "{track}", "Queued tracks whose grains are active on this silo, by what they wait for.");
    }

    public void Wait(string trackId, ScoringWait reason) => _waiting[trackId] = reason;

    public void Done(string trackId) => _waiting.TryRemove(trackId, out _);

    public IReadOnlyList<string> WaitingFor(ScoringWait reason) => _waiting.Where(w => w.Value == reason).Select(w => w.Key).ToList();

    public IReadOnlyDictionary<ScoringWait, int> Counts() =>
        Enum.GetValues<ScoringWait>().ToDictionary(r => r, r => _waiting.Count(w => w.Value == r));
}
