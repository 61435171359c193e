namespace Apex.Core.Popularity;

/// <summary>
/// The project's one labeler (<c>apex popularity</c>, <c>apex dataset build</c>), in the paper's order
/// (§4.1, §3.2.1): songs with zero streams leave the dataset (all their labels with them), then songs
/// younger than the minimum age at the as-of date, then duplicate audio (the first song with a content
/// hash stays); the rest get percentile ranks (average rank of ties / N, in the chosen population) and
/// popularity scores for streams and likes; last, platform balancing down-samples the larger platforms
/// to the smallest one's size, proportionally per streams-percentile decile. Labels are taken before
/// balancing, over the curated population: the paper computes the score it stratifies by first, and a
/// proportional sample keeps the distribution, so the kept songs keep their labels.
/// </summary>
public static class SongLabeler
{
    public static SongLabels Label(IReadOnlyList<SongCounts> songs, LabelingOptions options)
    {
        ArgumentNullException.ThrowIfNull(songs);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MinAgeDays < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinAgeDays, "The minimum age is a number of days ≥ 0.");
        }

        var dropped = new List<DroppedSong>();
        var curated = new List<SongCounts>();
        var firstWithContent = new Dictionary<string, string>(StringComparer.Ordinal);
        var newest = options.AsOf?.AddDays(-options.MinAgeDays);
        foreach (var song in songs)
        {
            if (song.Streams < 0 || song.Likes < 0)
            {
                throw new ArgumentException($"Track '{song.TrackId}' has a negative count ({song.Streams} streams, {song.Likes} likes).", nameof(songs));
            }

            if (song.Streams == 0)
            {
                dropped.Add(new DroppedSong(song, DropReason.ZeroStreams, "zero streams: no label"));
            }
            else if (newest is { } limit && song.CreatedAt is { } created && created > limit)
            {
                dropped.Add(new DroppedSong(song, DropReason.TooYoung,
                    $"created {created:yyyy-MM-dd}, less than {options.MinAgeDays} days before {options.AsOf:yyyy-MM-dd}"));
            }
            else if (song.ContentHash is { } hash && !firstWithContent.TryAdd(hash, song.TrackId))
            {
                dropped.Add(new DroppedSong(song, DropReason.Duplicate, $"the same audio as track '{firstWithContent[hash]}'"));
            }
            else
            {
                curated.Add(song);
            }
        }

        var labels = Rank(curated, options);
        return new SongLabels(options.BalancePlatforms ? Balance(labels, options.Seed, dropped) : labels, dropped);
    }

    /// <summary>The decile (0..9) of a percentile rank in (0, 1]: the strata of balancing and of the dataset split.</summary>
    public static int Decile(double percentile) => Math.Clamp((int)Math.Floor(percentile * 10), 0, 9);

    private static List<SongLabel> Rank(List<SongCounts> songs, LabelingOptions options)
    {
        var streams = new double[songs.Count];
        var likes = new double?[songs.Count];
        var populations = options.Population == LabelPopulation.Dataset
            ? [Enumerable.Range(0, songs.Count).ToList()]
            : Enumerable.Range(0, songs.Count).GroupBy(i => songs[i].Platform, StringComparer.Ordinal).Select(g => g.ToList()).ToList();
        foreach (var members in populations)
        {
            var streamRanks = PopularityScore.PercentileRanks(members.Select(i => (double)songs[i].Streams).ToArray());
            var liked = options.ZeroLikes == ZeroLikes.Ranked ? members : members.Where(i => songs[i].Likes > 0).ToList();
            var likeRanks = PopularityScore.PercentileRanks(liked.Select(i => (double)songs[i].Likes).ToArray());
            for (var j = 0; j < members.Count; j++)
            {
                streams[members[j]] = streamRanks[j];
            }

            for (var j = 0; j < liked.Count; j++)
            {
                likes[liked[j]] = likeRanks[j];
            }
        }

        return songs.Select((s, i) => new SongLabel(s, streams[i], PopularityScore.FromPercentile(streams[i]),
            likes[i], likes[i] is { } p ? PopularityScore.FromPercentile(p) : null)).ToList();
    }

    /// <summary>
    /// Each platform larger than the smallest keeps that many songs: per streams decile its proportional
    /// share (largest remainders get the leftover places), drawn at random with the seed.
    /// </summary>
    private static List<SongLabel> Balance(List<SongLabel> labels, int seed, List<DroppedSong> dropped)
    {
        var platforms = Enumerable.Range(0, labels.Count).GroupBy(i => labels[i].Song.Platform, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (platforms.Count < 2)
        {
            return labels;
        }

        var target = platforms.Min(p => p.Count());
        var random = new Random(seed);
        var keep = new bool[labels.Count];
        foreach (var platform in platforms)
        {
            var members = platform.ToList();
            if (members.Count == target)
            {
                members.ForEach(i => keep[i] = true);
                continue;
            }

            var strata = members.GroupBy(i => Decile(labels[i].StreamsPercentile)).OrderBy(g => g.Key).Select(g => g.ToArray()).ToList();
            var exact = strata.Select(s => (double)target * s.Length / members.Count).ToList();
            var quotas = exact.Select(e => (int)Math.Floor(e)).ToArray();
            foreach (var d in Enumerable.Range(0, strata.Count).OrderByDescending(d => exact[d] - quotas[d]).ThenBy(d => d).Take(target - quotas.Sum()))
            {
                quotas[d]++;
            }

            for (var d = 0; d < strata.Count; d++)
            {
                random.Shuffle(strata[d]);
                foreach (var i in strata[d].Take(quotas[d]))
                {
                    keep[i] = true;
                }
            }
        }

        for (var i = 0; i < labels.Count; i++)
        {
            if (!keep[i])
            {
                dropped.Add(new DroppedSong(labels[i].Song, DropReason.Balanced, $"down-sampled: every platform keeps {target} songs"));
            }
        }

        return labels.Where((_, i) => keep[i]).ToList();
    }
}
