using Apex.Core.Popularity;

namespace Apex.Core.Tests;

public sealed class SongLabelerTests
{
    private static readonly LabelingOptions Paper = new();

    [Fact]
    public void Songs_with_zero_streams_leave_with_all_their_labels_and_the_rest_rank_in_one_population()
    {
        long[] streams = [5, 1, 3, 3, 10, 0, 3, 7, 1, 2];
        var songs = streams.Select((c, i) => new SongCounts($"t{i}", i % 2 == 0 ? "suno" : "udio", c, Likes: 4)).ToList();

        var labels = SongLabeler.Label(songs, Paper);

        Assert.Equal([("t5", DropReason.ZeroStreams)], labels.Dropped.Select(d => (d.Song.TrackId, d.Reason)));
        Assert.Equal(songs.Where(s => s.Streams > 0).Select(s => s.TrackId), labels.Kept.Select(l => l.Song.TrackId));
        // pandas rank(pct=True) over the nine songs with streams, whatever their platform.
        double[] expected = [0.777777777777778, 0.166666666666667, 0.555555555555556, 0.555555555555556, 1.0, 0.555555555555556, 0.888888888888889, 0.166666666666667, 0.333333333333333];
        Assert.Equal(expected, labels.Kept.Select(l => l.StreamsPercentile), (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.All(labels.Kept, l => Assert.Equal(PopularityScore.FromPercentile(l.StreamsPercentile), l.StreamsScore, 12));
        // Equal likes tie: every song has the average rank.
        Assert.All(labels.Kept, l => Assert.Equal(5 / 9.0, l.LikesPercentile!.Value, 12));
    }

    [Fact]
    public void Per_platform_populations_rank_each_platform_on_its_own()
    {
        var songs = new List<SongCounts> { new("a", "suno", 10, 1), new("b", "udio", 1, 1), new("c", "suno", 20, 1), new("d", "udio", 1000, 1) };

        var labels = SongLabeler.Label(songs, Paper with { Population = LabelPopulation.Platform }).Kept.ToDictionary(l => l.Song.TrackId);
        var dataset = SongLabeler.Label(songs, Paper).Kept.ToDictionary(l => l.Song.TrackId);

        Assert.Equal([0.5, 0.5, 1.0, 1.0], new[] { "a", "b", "c", "d" }.Select(t => labels[t].StreamsPercentile));
        Assert.Equal([0.5, 0.25, 0.75, 1.0], new[] { "a", "b", "c", "d" }.Select(t => dataset[t].StreamsPercentile));
    }

    [Fact]
    public void Zero_likes_rank_at_the_bottom_or_go_unlabelled()
    {
        var songs = new List<SongCounts> { new("a", "suno", 10, 0), new("b", "suno", 20, 3), new("c", "suno", 30, 0), new("d", "suno", 40, 9) };

        var ranked = SongLabeler.Label(songs, Paper).Kept.ToDictionary(l => l.Song.TrackId);
        var unlabelled = SongLabeler.Label(songs, Paper with { ZeroLikes = ZeroLikes.Unlabelled }).Kept.ToDictionary(l => l.Song.TrackId);

        Assert.Equal([0.375, 0.75, 0.375, 1.0], new[] { "a", "b", "c", "d" }.Select(t => ranked[t].LikesPercentile!.Value));
        Assert.Null(unlabelled["a"].LikesScore);
        Assert.Null(unlabelled["c"].LikesPercentile);
        Assert.Equal([0.5, 1.0], new[] { "b", "d" }.Select(t => unlabelled[t].LikesPercentile!.Value));
        Assert.Equal(4, unlabelled.Count); // a song without likes keeps its streams label
    }

    [Fact]
    public void Young_songs_and_duplicate_audio_leave_before_ranking()
    {
        var asOf = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var songs = new List<SongCounts>
        {
            new("old", "suno", 10, 1, asOf.AddDays(-30), "h1"),
            new("edge", "suno", 20, 1, asOf.AddDays(-14), "h2"),
            new("young", "suno", 30, 1, asOf.AddDays(-13), "h3"),
            new("copy", "udio", 40, 1, asOf.AddDays(-40), "h1"),
            new("undated", "udio", 50, 1, null, null),
        };

        var labels = SongLabeler.Label(songs, Paper with { AsOf = asOf });

        Assert.Equal(["old", "edge", "undated"], labels.Kept.Select(l => l.Song.TrackId));
        Assert.Equal([("young", DropReason.TooYoung), ("copy", DropReason.Duplicate)], labels.Dropped.Select(d => (d.Song.TrackId, d.Reason)));
        Assert.Contains("'old'", labels.Dropped[1].Detail, StringComparison.Ordinal);
        Assert.Equal([1 / 3.0, 2 / 3.0, 1.0], labels.Kept.Select(l => l.StreamsPercentile), (a, b) => Math.Abs(a - b) < 1e-12);
        // Without an as-of date nothing is too young.
        Assert.Equal(4, SongLabeler.Label(songs, Paper).Kept.Count);
    }

    [Fact]
    public void Balancing_down_samples_the_larger_platform_to_the_smaller_one_keeping_its_streams_distribution()
    {
        var random = new Random(3);
        var songs = Enumerable.Range(0, 3_000).Select(i => new SongCounts($"s{i}", "suno", 1 + (long)Math.Exp(random.NextDouble() * 10), 1))
            .Concat(Enumerable.Range(0, 1_000).Select(i => new SongCounts($"u{i}", "udio", 1 + (long)Math.Exp(random.NextDouble() * 8), 1)))
            .ToList();

        var balanced = SongLabeler.Label(songs, Paper with { BalancePlatforms = true, Seed = 7 });
        var all = SongLabeler.Label(songs, Paper);

        Assert.Equal(1_000, balanced.Kept.Count(l => l.Song.Platform == "suno"));
        Assert.Equal(1_000, balanced.Kept.Count(l => l.Song.Platform == "udio"));
        Assert.Equal(2_000, balanced.DroppedFor(DropReason.Balanced));
        Assert.All(balanced.Dropped, d => Assert.Equal("suno", d.Song.Platform));
        // Per decile, the kept suno songs are a third of all suno songs (within rounding).
        var before = all.Kept.Where(l => l.Song.Platform == "suno").GroupBy(l => SongLabeler.Decile(l.StreamsPercentile)).ToDictionary(g => g.Key, g => g.Count());
        var after = balanced.Kept.Where(l => l.Song.Platform == "suno").GroupBy(l => SongLabeler.Decile(l.StreamsPercentile)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, d => Assert.InRange(after[d.Key], (d.Value / 3.0) - 1, (d.Value / 3.0) + 1));
        // Kept songs keep the labels of the curated dataset; the seed decides which are kept.
        var labelOf = all.Kept.ToDictionary(l => l.Song.TrackId, l => l.StreamsScore);
        Assert.All(balanced.Kept, l => Assert.Equal(labelOf[l.Song.TrackId], l.StreamsScore));
        Assert.Equal(balanced.Kept.Select(l => l.Song.TrackId), SongLabeler.Label(songs, Paper with { BalancePlatforms = true, Seed = 7 }).Kept.Select(l => l.Song.TrackId));
        Assert.NotEqual(balanced.Kept.Select(l => l.Song.TrackId), SongLabeler.Label(songs, Paper with { BalancePlatforms = true, Seed = 8 }).Kept.Select(l => l.Song.TrackId));
    }

    [Fact]
    public void Negative_counts_are_refused() =>
        Assert.Throws<ArgumentException>(() => SongLabeler.Label([new SongCounts("x", "suno", -3, 0)], Paper));
}
