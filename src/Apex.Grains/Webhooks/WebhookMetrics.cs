using System.Diagnostics.Metrics;

namespace Apex.Grains.Webhooks;

/// <summary>Webhook deliveries as metrics (meter "Apex.Webhooks"), reported by the silo that runs the dispatcher.</summary>
public sealed class WebhookMetrics
{
    public const string MeterName = "Apex.Webhooks";

    private readonly Counter<long> _attempts;
    private long _pending;
    private DateTimeOffset _pendingSeen;

    public WebhookMetrics(IMeterFactory? meters = null)
    {
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _attempts = meter.CreateCounter<long>("apex.webhooks.attempts", "{attempt}", "Delivery attempts by outcome: delivered, retry (failed, to be tried again) or failed (given up).");
        meter.CreateObservableGauge("apex.webhooks.pending", Pending, "{delivery}", "Deliveries waiting to be sent or retried.");
        // Every outcome is exported from the start (at 0), so dashboards never miss the series.
        foreach (var outcome in new[] { WebhookDelivery.Delivered, "retry", WebhookDelivery.Failed })
        {
            Attempted(outcome, 0);
        }
    }

    public void Attempted(string outcome, long count = 1) => _attempts.Add(count, new KeyValuePair<string, object?>("outcome", outcome));

    public void ObservePending(long pending)
    {
        _pending = pending;
        _pendingSeen = DateTimeOffset.UtcNow;
    }

    // A dispatcher that moved to another silo stops reporting here: its last figure goes stale and is dropped.
    private IEnumerable<Measurement<long>> Pending() =>
        DateTimeOffset.UtcNow - _pendingSeen < TimeSpan.FromMinutes(2) ? [new Measurement<long>(_pending)] : [];
}
