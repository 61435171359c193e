namespace Apex.Grains.Timelines;

/// <summary>One bucket of a track's curve: the track, its width and its start (Unix seconds, UTC).</summary>
public readonly record struct Bucket(string TrackId, BucketWidth Width, long Start) : IComparable<Bucket>
{
    public static bool operator <(Bucket left, Bucket right) => left.CompareTo(right) < 0;

    public static bool operator <=(Bucket left, Bucket right) => left.CompareTo(right) <= 0;

    public static bool operator >(Bucket left, Bucket right) => left.CompareTo(right) > 0;

    public static bool operator >=(Bucket left, Bucket right) => left.CompareTo(right) >= 0;

    /// <summary>The start of the bucket of <paramref name="width"/> holding <paramref name="unixSeconds"/>.</summary>
    public static long StartOf(BucketWidth width, long unixSeconds) => unixSeconds - (((unixSeconds % (long)width) + (long)width) % (long)width);

    /// <summary>Track, then width, then start: the order writers take rows in, so they never wait on each other in a cycle.</summary>
    public int CompareTo(Bucket other)
    {
        var byTrack = string.CompareOrdinal(TrackId, other.TrackId);
        return byTrack != 0 ? byTrack : Width != other.Width ? Width.CompareTo(other.Width) : Start.CompareTo(other.Start);
    }
}
