using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Apex.Grains.Scoring;

/// <summary>What a queued track waits for.</summary>
public enum ScoringWait
{
    /// <summary>No active silo can run an embedder; tries resume when the membership shows one (no I/O meanwhile).</summary>
    Embedder,

    /// <summary>The database failed; tries resume when <see cref="StoreOutage"/> finds it back (no I/O meanwhile).</summary>
    Database,

    /// <summary>Embedded, and no serving model can score it; tries resume when the serving version changes (no I/O meanwhile).</summary>
    Model,

    /// <summary>An embedder was busy or failed: the next try goes to the next embedder.</summary>
    Retry,

    /// <summary>Not waiting: a try is running (an embedder or the model has the track).</summary>
    InFlight,
}

/// <summary>
/// The queued tracks of this silo's activations and what each waits for: the queued-work metric and
/// the detail of readiness.
/// </summary>
public sealed class ScoringWaiters
{
    public const string MeterName = "Apex.Scoring.Queue";

    private readonly ConcurrentDictionary<string, (ScoringWait Reason, bool Backfill)> _waiting = new(StringComparer.Ordinal);
    private readonly Counter<long> _finished;

    public ScoringWaiters(IMeterFactory? meters = null)
    {
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _finished = meter.CreateCounter<long>("apex.scoring.finished", "{track}", "Tracks whose scoring ended on this silo, by priority (live or backfill) and outcome (scored or failed).");
        meter.CreateObservableGauge("apex.scoring.queued", () => Counts().Select(c => new Measurement<int>(c.Value, new KeyValuePair<string, object?>("state", Name(c.Key)))),
            "{track}", "Queued tracks whose grains are active on this silo, by what they wait for (or in_flight).");
    }

    /// <summary>The name in metrics and in readiness's detail.</summary>
    public static string Name(ScoringWait wait) => wait switch
    {
        ScoringWait.Embedder => "waiting_for_embedder",
        ScoringWait.Database => "waiting_for_database",
        ScoringWait.Model => "waiting_for_model",
        ScoringWait.Retry => "retrying",
        ScoringWait.InFlight => "in_flight",
        _ => throw new ArgumentOutOfRangeException(nameof(wait), wait, null),
    };

    /// <summary>True once the silo stops: queued tracks start no new try here (they stay queued for the next start).</summary>
    public bool Draining { get; private set; }

    /// <summary>
    /// Stops new tries and waits for those in flight (an embedding, a prediction and its population
    /// update) to finish, up to <paramref name="limit"/>; answers how many were still running then
    /// (their tracks stay queued and are tried again after the next start).
    /// </summary>
    public async Task<int> DrainAsync(TimeSpan limit, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        Draining = true;
        var until = time.GetUtcNow() + limit;
        int running;
        while ((running = WaitingFor(ScoringWait.InFlight).Count) > 0 && time.GetUtcNow() < until && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, CancellationToken.None);
        }

        return running;
    }

    /// <summary>A track's scoring waits for <paramref name="reason"/>; <paramref name="backfill"/> for a catalogued track the backfill admitted.</summary>
    public void Wait(string trackId, ScoringWait reason, bool backfill = false) => _waiting[trackId] = (reason, backfill);

    public void Done(string trackId) => _waiting.TryRemove(trackId, out _);

    /// <summary>A track's scoring ended: the throughput per priority.</summary>
    public void Finished(bool backfill, ScoringStatus outcome) =>
        _finished.Add(1, new KeyValuePair<string, object?>("priority", backfill ? "backfill" : "live"), new KeyValuePair<string, object?>("outcome", outcome == ScoringStatus.Scored ? "scored" : "failed"));

    public IReadOnlyList<string> WaitingFor(ScoringWait reason) => _waiting.Where(w => w.Value.Reason == reason).Select(w => w.Key).ToList();

    /// <summary>Tracks registered live and queued on this silo (waiting or in flight): what the backfill gives way to.</summary>
    public int LiveQueued() => _waiting.Count(w => !w.Value.Backfill);

    public IReadOnlyDictionary<ScoringWait, int> Counts() =>
        Enum.GetValues<ScoringWait>().ToDictionary(r => r, r => _waiting.Count(w => w.Value.Reason == r));
}
