using Apex.Grains.Events;
using Apex.Grains.Ingest;

namespace Apex.Grains.Timelines;

/// <summary>
/// Sums logged events into the buckets of their event time, hourly and daily. An event lands in the
/// bucket of its own time however late or out of order it arrives; one older than a width's retention
/// window is left out of that width's curve (the totals hold it). A catalogue's initial counts are a
/// track's history as of one moment, not activity in it, so they are left out of the curves.
/// </summary>
public static class TimelineRollup
{
    private static readonly BucketWidth[] Widths = [BucketWidth.Hour, BucketWidth.Day];

    public static SortedDictionary<Bucket, (long Streams, long Likes)> Sum(IEnumerable<StoredEvent> events, DateTimeOffset now, TimelineRetention retention)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(retention);
        var firstKept = Widths.ToDictionary(w => w, w => retention.FirstKept(w, now));
        var sums = new SortedDictionary<Bucket, (long Streams, long Likes)>();
        foreach (var e in events)
        {
            if (CatalogueEntry.IsInitialCount(e.EventId))
            {
                continue;
            }

            var seconds = new DateTimeOffset(e.UtcTicks, TimeSpan.Zero).ToUnixTimeSeconds();
            foreach (var width in Widths)
            {
                var start = Bucket.StartOf(width, seconds);
                if (start < firstKept[width])
                {
                    continue;
                }

                var key = new Bucket(e.TrackId, width, start);
                var (streams, likes) = sums.GetValueOrDefault(key);
                sums[key] = e.Kind switch
                {
                    EventKind.Stream => (streams + e.Count, likes),
                    EventKind.Like => (streams, likes + e.Count),
                    _ => throw new ArgumentOutOfRangeException(nameof(events), e.Kind, "An event kind the timelines do not count."),
                };
            }
        }

        return sums;
    }
}
