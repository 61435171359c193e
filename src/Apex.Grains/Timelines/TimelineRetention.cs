namespace Apex.Grains.Timelines;

/// <summary>
/// How long a track's curve keeps its buckets: hourly ones for a recent window, daily ones for longer.
/// An event older than a width's window when it is logged still counts in the totals, but not in that
/// width's curve; buckets that age out of their window are dropped at compaction.
/// </summary>
public sealed record TimelineRetention(TimeSpan Hourly, TimeSpan Daily)
{
    public static readonly TimelineRetention Default = new(TimeSpan.FromDays(14), TimeSpan.FromDays(730));

    public TimeSpan Of(BucketWidth width) => width == BucketWidth.Hour ? Hourly : Daily;

    /// <summary>The earliest bucket start a width keeps as of <paramref name="now"/>, in Unix seconds.</summary>
    public long FirstKept(BucketWidth width, DateTimeOffset now) => Bucket.StartOf(width, (now - Of(width)).ToUnixTimeSeconds());
}
