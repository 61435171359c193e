namespace Apex.Grains.Populations;

/// <summary>
/// The first <see cref="Capacity"/> tracks of a platform in one order (a key, highest first, then track
/// id): all a listing can ask for, kept in O(log K) per change instead of a database index over every
/// track. Keys only grow in practice (counts add up, a creation time is fixed), and a member leaves only
/// for a better track. A member whose key falls while tracks wait outside might belong below one of
/// them, so that marks the set stale and the next read rebuilds it from every track (O(n log K)).
/// </summary>
public sealed class TopTracks
{
    private readonly SortedSet<(long Key, string TrackId)> _top = new(Comparer<(long Key, string TrackId)>.Create(Compare));
    private readonly Dictionary<string, long> _keys = new(StringComparer.Ordinal);

    public TopTracks(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>True when a member's key fell while the set was full: <see cref="Rebuild"/> before reading.</summary>
    public bool Stale { get; private set; }

    /// <summary>A track's current key.</summary>
    public void Offer(string trackId, long key)
    {
        if (Stale)
        {
            return;
        }

        if (_keys.TryGetValue(trackId, out var held))
        {
            if (key == held)
            {
                return;
            }

            // Below capacity every track is a member, so a falling key cannot pass an outsider.
            if (key < held && _top.Count == Capacity)
            {
                Stale = true;
                return;
            }

            _top.Remove((held, trackId));
            Add(trackId, key);
            return;
        }

        if (_top.Count == Capacity)
        {
            var worst = _top.Max;
            if (Compare((key, trackId), worst) > 0)
            {
                return;
            }

            _top.Remove(worst);
            _keys.Remove(worst.TrackId);
        }

        Add(trackId, key);
    }

    /// <summary>The ids of the first <paramref name="limit"/> members, in order.</summary>
    public IEnumerable<string> First(int limit) =>
        Stale ? throw new InvalidOperationException("The top tracks are stale; rebuild them first.") : _top.Take(limit).Select(t => t.TrackId);

    public void Rebuild(IEnumerable<(string TrackId, long Key)> tracks)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        _top.Clear();
        _keys.Clear();
        Stale = false;
        foreach (var (trackId, key) in tracks)
        {
            Offer(trackId, key);
        }
    }

    private void Add(string trackId, long key)
    {
        _top.Add((key, trackId));
        _keys[trackId] = key;
    }

    /// <summary>Highest key first, ties by track id in ordinal order (the order the database listings had).</summary>
    private static int Compare((long Key, string TrackId) a, (long Key, string TrackId) b)
    {
        var byKey = b.Key.CompareTo(a.Key);
        return byKey != 0 ? byKey : string.CompareOrdinal(a.TrackId, b.TrackId);
    }
}
