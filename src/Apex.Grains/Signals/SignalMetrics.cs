using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Apex.Grains.Signals;

/// <summary>Breakouts as metrics, per platform, reported by the silo that hosts the platform's population grain.</summary>
public sealed class SignalMetrics
{
    public const string MeterName = "Apex.Signals";

    private readonly Counter<long> _detected;
    private readonly ConcurrentDictionary<string, (int Active, DateTimeOffset Seen)> _active = new(StringComparer.Ordinal);

    public SignalMetrics(IMeterFactory? meters = null)
    {
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _detected = meter.CreateCounter<long>("apex.signals.breakouts.detected", "{track}", "Young tracks found breaking out (each once per population activation).");
        meter.CreateObservableGauge("apex.signals.breakouts.active", Active, "{track}", "Young tracks breaking out now, per platform.");
    }

    /// <summary>A platform's breakouts after a refresh: how many now, and how many are new.</summary>
    public void Observe(string platform, int active, int detected)
    {
        _active[platform] = (active, DateTimeOffset.UtcNow);
        if (detected > 0)
        {
            _detected.Add(detected, new KeyValuePair<string, object?>("platform", platform));
        }
    }

    // A population that moved to another silo stops refreshing here: its last figure goes stale and is dropped.
    private IEnumerable<Measurement<long>> Active() =>
        _active.Where(p => DateTimeOffset.UtcNow - p.Value.Seen < TimeSpan.FromMinutes(5))
            .Select(p => new Measurement<long>(p.Value.Active, new KeyValuePair<string, object?>("platform", p.Key)));
}
