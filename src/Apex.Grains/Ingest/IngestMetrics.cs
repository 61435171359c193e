using System.Diagnostics.Metrics;

namespace Apex.Grains.Ingest;

/// <summary>The ingest path's OpenTelemetry instruments (meter "Apex.Ingest").</summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Apex.Ingest";

    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Histogram<double> _commit;
    private readonly Histogram<long> _group;
    private readonly Histogram<double> _ack;

    public IngestMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName);
        _events = _meter.CreateCounter<long>("apex.ingest.events", "{event}", "Events received, by outcome (accepted, duplicate, conflict, unknown_track).");
        _commit = _meter.CreateHistogram<double>("apex.ingest.commit.duration", "s", "Time to deduplicate, log and commit one group of batches.");
        _group = _meter.CreateHistogram<long>("apex.ingest.commit.batches", "{batch}", "Batches committed together (group commit).");
        _ack = _meter.CreateHistogram<double>("apex.ingest.ack.duration", "s", "Time from receiving a batch of events to acknowledging it (durable).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5] });
    }

    public void Record(IngestResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (var group in result.Outcomes.GroupBy(o => o))
        {
            _events.Add(group.Count(), new KeyValuePair<string, object?>("outcome", ResentEvents.Name(group.Key)));
        }
    }

    /// <summary>A catalogue's initial counts, logged with their registrations: accepted events like any other.</summary>
    public void RecordInitialCounts(long events) => _events.Add(events, new KeyValuePair<string, object?>("outcome", ResentEvents.Name(IngestOutcome.Accepted)));

    public void RecordAck(TimeSpan duration) => _ack.Record(duration.TotalSeconds);

    public void RecordCommit(TimeSpan duration, int batches)
    {
        _commit.Record(duration.TotalSeconds);
        _group.Record(batches);
    }

    public void Dispose() => _meter.Dispose();
}
