using System.Diagnostics.Metrics;

namespace Apex.Grains.Backfill;

/// <summary>
/// The catalogue backfill's queue as metrics, reported by the silo that hosts the backfill grain: tracks
/// waiting, the oldest one's age, tracks admitted and in flight, and whether it is paused.
/// </summary>
public sealed class BackfillMetrics
{
    public const string MeterName = "Apex.Backfill";

    private readonly Counter<long> _admitted;
    private BackfillView? _last;
    private DateTimeOffset _seen;

    public BackfillMetrics(IMeterFactory? meters = null, TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _admitted = meter.CreateCounter<long>("apex.backfill.admitted", "{track}", "Catalogued tracks admitted to scoring.");
        meter.CreateObservableGauge("apex.backfill.queued", () => Current(v => v.Queued), "{track}", "Catalogued tracks not yet admitted to scoring.");
        meter.CreateObservableGauge("apex.backfill.in_flight", () => Current(v => (long)v.InFlight), "{track}", "Admitted catalogue tracks not yet scored.");
        meter.CreateObservableGauge("apex.backfill.paused", () => Current(v => v.Paused ? 1L : 0L), "{flag}", "1 while an admin has paused the backfill.");
        meter.CreateObservableGauge("apex.backfill.oldest_age", () => Current(v => v.OldestQueuedAt is { } at ? (long)(clock.GetUtcNow() - at).TotalSeconds : 0L), "s", "Age of the oldest catalogued track not yet admitted.");
    }

    public void Admitted(int tracks) => _admitted.Add(tracks);

    /// <summary>The backfill as last seen on this silo (null unless this silo hosts it and saw it lately).</summary>
    public BackfillView? Last => _last is { } view && DateTimeOffset.UtcNow - _seen < TimeSpan.FromMinutes(2) ? view : null;

    public void Observe(BackfillView view)
    {
        _last = view;
        _seen = DateTimeOffset.UtcNow;
    }

    // Only the silo that hosts the grain (and saw it lately) reports, so a sum over silos stays right.
    private IEnumerable<Measurement<long>> Current(Func<BackfillView, long> value) =>
        Last is { } view ? [new Measurement<long>(value(view))] : [];
}
