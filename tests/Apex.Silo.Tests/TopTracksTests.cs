using Apex.Grains.Populations;
using CsCheck;

namespace Apex.Silo.Tests;

public sealed class TopTracksTests
{
    /// <summary>Updates to a pool of tracks, keys mostly growing and now and then falling (the stale path).</summary>
    private static readonly Gen<(int Capacity, (int Track, long Key)[] Updates)> Updates =
        Gen.Select(Gen.Int[1, 8], Gen.Select(Gen.Int[0, 20], Gen.Long[0, 50]).Array[0, 120]);

    [Fact]
    public void Its_first_tracks_are_always_those_a_full_sort_of_every_track_gives()
    {
        Updates.Sample(c =>
        {
            var (capacity, updates) = c;
            var top = new TopTracks(capacity);
            var keys = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (track, key) in updates)
            {
                var id = $"t{track:00}";
                keys[id] = key;
                top.Offer(id, key);
                if (top.Stale)
                {
                    top.Rebuild(keys.Select(k => (k.Key, k.Value)));
                }

                var expected = keys.OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal).Take(capacity).Select(k => k.Key);
                if (!expected.SequenceEqual(top.First(capacity)))
                {
                    return false;
                }
            }

            return true;
        }, iter: 2_000);
    }

    [Fact]
    public void A_falling_member_of_a_full_set_makes_it_stale_until_rebuilt()
    {
        var top = new TopTracks(2);
        top.Offer("a", 10);
        top.Offer("b", 8);
        top.Offer("c", 5); // outside
        top.Offer("a", 1); // might now belong below c

        Assert.True(top.Stale);
        Assert.Throws<InvalidOperationException>(() => top.First(2).ToList());
        top.Rebuild([("a", 1), ("b", 8), ("c", 5)]);
        Assert.Equal(["b", "c"], top.First(2));
    }
}
