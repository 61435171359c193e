using Apex.Training.Model;

namespace Apex.Training.Data;

/// <summary>A mini-batch: features [count, layers, hidden] and labels [count, tasks] (NaN = missing).</summary>
public sealed record SampleBatch(float[] Features, float[] Labels, int Count);

/// <summary>Where training samples come from, one shuffled epoch at a time.</summary>
public interface ISampleSource
{
    int Layers { get; }

    int Hidden { get; }

    IReadOnlyList<ApexTask> Tasks { get; }

    /// <summary>One epoch of batches of at most <paramref name="batchSize"/> samples, shuffled with <paramref name="random"/>.</summary>
    IEnumerable<SampleBatch> Epoch(int batchSize, Random random);
}
