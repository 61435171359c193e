using Apex.Core.Popularity;
using Apex.Training.Data;
using Apex.Training.Model;

namespace Apex.Training.Tests;

public sealed class DatasetTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-training-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Parquet_round_trip_keeps_rows_labels_and_embeddings_in_row_groups()
    {
        var synthetic = new SyntheticDataset(Songs: 300, Seed: 7, Hidden: 16);
        var path = Path.Combine(_folder, "ds.parquet");

        await ParquetDataset.WriteAsync(path, synthetic.Rows(), synthetic.Info, rowGroupSize: 64);

        var expected = synthetic.Rows().ToList();
        var groups = new List<IList<SongRow>>();
        await foreach (var group in ParquetDataset.ReadRowGroupsAsync(path))
        {
            groups.Add(group);
        }

        Assert.Equal(5, groups.Count);
        var actual = groups.SelectMany(g => g).ToList();
        Assert.Equal(expected.Select(r => r.TrackId), actual.Select(r => r.TrackId));
        Assert.Equal(expected.Select(r => r.Streams), actual.Select(r => r.Streams));
        Assert.Equal(expected.Select(r => r.Memorability), actual.Select(r => r.Memorability));
        Assert.Equal(expected[42].Embedding, actual[42].Embedding);
        Assert.Equal(synthetic.Info, await ParquetDataset.ReadInfoAsync(path));
    }

    [Fact]
    public void Synthetic_labels_have_the_planted_properties()
    {
        var rows = new SyntheticDataset(Songs: 2_000, Seed: 3, Hidden: 8).Rows().ToList();

        // Labelled as the paper labels: every song has streams (a song without would leave the dataset) and a
        // likes label (zero likes rank at the bottom); some aesthetics are missing; scores are in range.
        Assert.All(rows, r => Assert.NotNull(r.Streams));
        Assert.All(rows, r => Assert.NotNull(r.Likes));
        Assert.InRange(rows.Count(r => r.Coherence is null) / 2_000.0, 0.15, 0.25);
        Assert.All(rows.Where(r => r.Streams is not null), r => Assert.InRange(r.Streams!.Value, 0, 100));
        Assert.All(rows.Where(r => r.Coherence is not null), r => Assert.InRange(r.Coherence!.Value, 1, 5));
        // Likes follow streams.
        var both = rows.Where(r => r.Streams is not null && r.Likes is not null).ToList();
        Assert.True(Core.Metrics.RegressionMetrics.Pearson(both.Select(r => (double)r.Streams!).ToArray(), both.Select(r => (double)r.Likes!).ToArray()) > 0.5);
        // Same seed, same data.
        Assert.Equal(rows[10].Embedding, new SyntheticDataset(Songs: 2_000, Seed: 3, Hidden: 8).Rows().ElementAt(10).Embedding);
    }

    [Fact]
    public void Split_is_85_10_5_stratified_by_the_decile_of_the_streams_percentile_and_seeded()
    {
        // Scores made from evenly spread percentiles: right-skewed, most of them below 30.
        var streams = Enumerable.Range(0, 10_000).Select(i => i % 17 == 0 ? (float?)null : (float)PopularityScore.FromPercentile(((i % 100) + 0.5) / 100)).ToList();

        var split = DatasetSplit.Stratified(streams, seed: 5);

        Assert.Equal(10_000, split.Train.Length + split.Test.Length + split.Validation.Length);
        Assert.Empty(split.Train.Intersect(split.Test));
        Assert.InRange(split.Train.Length, 8_450, 8_550);
        Assert.InRange(split.Test.Length, 950, 1_050);
        // Every percentile decile is represented in the test part in proportion (a tenth each), which
        // equal-width score bands would not do: more than half the songs score below 20.
        var testDeciles = split.Test.Where(i => streams[i] is not null).GroupBy(i => SongLabeler.Decile(PopularityScore.ToPercentile(streams[i]!.Value))).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, testDeciles.Count);
        Assert.All(testDeciles.Values, n => Assert.InRange(n, 88, 96));
        Assert.True(streams.Count(s => s < 20) > streams.Count(s => s is not null) / 2);
        Assert.Equal(split.Test, DatasetSplit.Stratified(streams, seed: 5).Test);
        Assert.NotEqual(split.Test, DatasetSplit.Stratified(streams, seed: 6).Test);
    }

    [Fact]
    public void A_small_set_still_gets_a_tenth_for_test_and_a_twentieth_for_validation_spread_over_the_strata()
    {
        // 32 songs over ten deciles: three or four per stratum, where rounding each stratum's tenth on
        // its own would leave no test song at all.
        var streams = Enumerable.Range(0, 32).Select(i => (float?)PopularityScore.FromPercentile((i + 0.5) / 32)).ToList();

        var split = DatasetSplit.Stratified(streams, seed: 42);

        Assert.Equal((27, 3, 2), (split.Train.Length, split.Test.Length, split.Validation.Length));
        Assert.Equal(Enumerable.Range(0, 32), split.Train.Concat(split.Test).Concat(split.Validation).Order());
        // At most one test song per decile: the test part spans the popularity range.
        Assert.All(split.Test.GroupBy(i => SongLabeler.Decile(PopularityScore.ToPercentile(streams[i]!.Value))), g => Assert.Single(g));
        Assert.Equal(split.Test, DatasetSplit.Stratified(streams, seed: 42).Test);
    }

    [Fact]
    public void Segment_mode_makes_one_sample_per_segment_sharing_the_song_labels()
    {
        var synthetic = new SyntheticDataset(Songs: 20, Seed: 1, Hidden: 4);
        var rows = synthetic.Rows().ToList();

        var songs = TrainingSet.Build(rows, synthetic.Info, ApexTasks.Full, InputMode.Song);
        var segments = TrainingSet.Build(rows, synthetic.Info, ApexTasks.Full, InputMode.Segment);

        Assert.Equal(20, songs.SampleCount);
        Assert.Equal(rows.Sum(r => r.Segments), segments.SampleCount);
        var lastSegmentOfSong3 = Array.LastIndexOf(segments.SongOfSample, 3);
        Assert.Equal(songs.LabelsOf(3).ToArray(), segments.LabelsOf(lastSegmentOfSong3).ToArray());
        // Song mode averages the segments.
        var width = synthetic.Info.SegmentWidth;
        var mean = Enumerable.Range(0, rows[3].Segments).Average(s => rows[3].Embedding[s * width]);
        Assert.Equal(mean, songs.Features[3 * width], 5);
    }

    [Fact]
    public async Task Streaming_segments_visits_every_chosen_segment_once_per_epoch_in_a_seeded_order()
    {
        var synthetic = new SyntheticDataset(Songs: 300, Seed: 9, Hidden: 4, MaxSegments: 4);
        var path = Path.Combine(_folder, "ds.parquet");
        await ParquetDataset.WriteAsync(path, synthetic.Rows(), synthetic.Info, rowGroupSize: 32);
        var rows = synthetic.Rows().ToList();
        var chosen = Enumerable.Range(0, 300).Where(i => i % 3 != 0).ToHashSet();
        var source = new ParquetSampleSource(path, synthetic.Info, ApexTasks.Full, InputMode.Segment, chosen, bufferGroups: 2);

        var epoch = source.Epoch(batchSize: 50, new Random(1)).ToList();
        var again = source.Epoch(batchSize: 50, new Random(1)).ToList();

        Assert.Equal(chosen.Sum(i => rows[i].Segments), epoch.Sum(b => b.Count));
        Assert.All(epoch, b => Assert.InRange(b.Count, 1, 50));
        // Every chosen segment's first feature appears exactly once (features are continuous, so collisions are negligible).
        var width = synthetic.Info.SegmentWidth;
        var expected = chosen.SelectMany(i => Enumerable.Range(0, rows[i].Segments).Select(s => rows[i].Embedding[s * width])).Order().ToList();
        var seen = epoch.SelectMany(b => Enumerable.Range(0, b.Count).Select(k => b.Features[k * width])).Order().ToList();
        Assert.Equal(expected, seen);
        Assert.Equal(epoch[0].Features, again[0].Features);
    }
}
