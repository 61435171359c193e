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

    // Live, then backfill (the flag of each).
    private static readonly bool[] Priorities = [false, true];

    private readonly ConcurrentDictionary<string, Waiter> _waiting = new(StringComparer.Ordinal);
    private readonly Counter<long> _finished;
    private readonly TimeProvider _time;

    public ScoringWaiters(IMeterFactory? meters = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _finished = meter.CreateCounter<long>("apex.scoring.finished", "{track}", "Tracks whose scoring ended on this silo, by priority (live or backfill) and outcome (scored or failed).");
        meter.CreateObservableGauge("apex.scoring.queued", QueuedMeasurements,
            "{track}", "Queued tracks whose grains are active on this silo, by what they wait for (or in_flight) and priority (live or backfill).");
        meter.CreateObservableGauge("apex.scoring.oldest_wait", () => Priorities.Select(backfill =>
                new Measurement<double>(OldestWait(backfill).TotalSeconds, new KeyValuePair<string, object?>("priority", Priority(backfill)))),
            "s", "How long the longest-queued track on this silo has waited to be scored, by priority (live or backfill).");
    }

    /// <summary>The priority's name in metrics.</summary>
    public static string Priority(bool backfill) => backfill ? "backfill" : "live";

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
    public void Wait(string trackId, ScoringWait reason, bool backfill = false)
    {
        var now = _time.GetUtcNow();
        _waiting.AddOrUpdate(trackId, _ => new Waiter(reason, backfill, now), (_, was) => was with { Reason = reason, Backfill = backfill });
    }

    public void Done(string trackId) => _waiting.TryRemove(trackId, out _);

    /// <summary>A track's scoring ended: the throughput per priority.</summary>
    public void Finished(bool backfill, ScoringStatus outcome) =>
        _finished.Add(1, new KeyValuePair<string, object?>("priority", Priority(backfill)), new KeyValuePair<string, object?>("outcome", outcome == ScoringStatus.Scored ? "scored" : "failed"));

    public IReadOnlyList<string> WaitingFor(ScoringWait reason) => _waiting.Where(w => w.Value.Reason == reason).Select(w => w.Key).ToList();

    /// <summary>Tracks registered live and queued on this silo (waiting or in flight): what the backfill gives way to.</summary>
    public int LiveQueued() => _waiting.Count(w => !w.Value.Backfill);

    /// <summary>Since when the longest-queued track of the priority has waited on this silo (since its grain here first queued it); null when none waits.</summary>
    public DateTimeOffset? OldestSince(bool backfill) =>
        _waiting.Values.Where(w => w.Backfill == backfill).Select(w => (DateTimeOffset?)w.Since).Min();

    /// <summary>How long the longest-queued track of the priority has waited on this silo; zero when none waits.</summary>
    public TimeSpan OldestWait(bool backfill) => OldestSince(backfill) is { } since ? _time.GetUtcNow() - since : TimeSpan.Zero;

    // Every state and priority, zeros included, so a drained queue reads 0 rather than no data.
    private IEnumerable<Measurement<int>> QueuedMeasurements()
    {
        var counts = _waiting.Values.CountBy(w => (w.Reason, w.Backfill)).ToDictionary();
        return from reason in Enum.GetValues<ScoringWait>()
               from backfill in Priorities
               select new Measurement<int>(counts.GetValueOrDefault((reason, backfill)),
                   new KeyValuePair<string, object?>("state", Name(reason)), new KeyValuePair<string, object?>("priority", Priority(backfill)));
    }

    private sealed record Waiter(ScoringWait Reason, bool Backfill, DateTimeOffset Since);

    public IReadOnlyDictionary<ScoringWait, int> Counts() =>
        Enum.GetValues<ScoringWait>().ToDictionary(r => r, r => _waiting.Count(w => w.Value.Reason == r));
}
