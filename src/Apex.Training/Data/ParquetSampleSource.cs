using Apex.Training.Model;

namespace Apex.Training.Data;

/// <summary>
/// Training samples streamed from a dataset file, a few row groups at a time: each epoch visits the
/// row groups in a shuffled order, shuffles the samples of <see cref="BufferGroups"/> groups together
/// and emits batches, so memory holds a bounded window instead of every segment of every song.
/// </summary>
public sealed class ParquetSampleSource(string path, DatasetInfo info, IReadOnlyList<ApexTask> tasks, InputMode mode, IReadOnlySet<int> rows, int bufferGroups = 4) : ISampleSource
{
    public int Layers => info.Layers;

    public int Hidden => info.Hidden;

    public IReadOnlyList<ApexTask> Tasks => tasks;

    public int BufferGroups => bufferGroups;

    public IEnumerable<SampleBatch> Epoch(int batchSize, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var groups = ParquetDataset.RowGroupSizesAsync(path).GetAwaiter().GetResult();
        var starts = new int[groups.Count];
        for (var g = 1; g < groups.Count; g++)
        {
            starts[g] = starts[g - 1] + groups[g - 1];
        }

        var order = Enumerable.Range(0, groups.Count).ToArray();
        random.Shuffle(order);
        foreach (var window in order.Chunk(Math.Max(1, bufferGroups)))
        {
            var buffer = new List<SongRow>();
            foreach (var g in window)
            {
                var group = ParquetDataset.ReadRowGroupAsync(path, g).GetAwaiter().GetResult();
                buffer.AddRange(group.Where((_, i) => rows.Contains(starts[g] + i)));
            }

            if (buffer.Count == 0)
            {
                continue;
            }

            // Batches do not straddle windows: at most one short batch per window.
            foreach (var batch in TrainingSet.Build(buffer, info, tasks, mode).Epoch(batchSize, random))
            {
                yield return batch;
            }
        }
    }
}
