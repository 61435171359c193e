using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Training.Tests;

public sealed class DataParallelTests
{
    /// <summary>256 random songs of 4 × 16 features with the seven labels, some aesthetic ones missing (as in real data).</summary>
    internal static (TrainingSet Set, HeadArchitecture Architecture) Data(int seed = 9)
    {
        var tasks = ApexTasks.ByName("full");
        var random = new Random(seed);
        const int Samples = 256, Layers = 4, Hidden = 16;
        var features = Enumerable.Range(0, Samples * Layers * Hidden).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var labels = Enumerable.Range(0, Samples * tasks.Count).Select(i =>
        {
            var task = tasks[i % tasks.Count];
            // Some aesthetic labels missing, as in real data.
            return task.Kind == TaskKind.Aesthetic && random.NextDouble() < 0.2 ? float.NaN : (float)(task.Low + (random.NextDouble() * task.Span));
        }).ToArray();
        var set = TrainingSet.FromArrays(Layers, Hidden, tasks, features, labels);
        return (set, new HeadArchitecture(Layers, Hidden, HeadArchitecture.TrunkOf(2), tasks));
    }

    private static async Task<(ReplicaState State, List<double> Losses)> RunAsync(int workers, int steps)
    {
        var (set, architecture) = Data();
        var options = new DataParallelOptions { GhostBatches = 4, GlobalBatch = 64, Training = new TrainingOptions { Seed = 3 } };
        using var coordinator = new DataParallelCoordinator(architecture, set.Tasks, options);
        var pool = Enumerable.Range(0, workers).Select(_ => new LocalGradientWorker(set, options, architecture)).ToList();
        var losses = new List<double>();
        for (var s = 0; s < steps; s++)
        {
            losses.Add((await coordinator.StepAsync(pool)).Loss);
        }

        pool.ForEach(w => w.Dispose());
        return (coordinator.State(), losses);
    }

    [Fact]
    public async Task One_two_and_four_workers_reach_the_same_weights_and_batchnorm_statistics()
    {
        var one = await RunAsync(1, steps: 6);
        var two = await RunAsync(2, steps: 6);
        var four = await RunAsync(4, steps: 6);
        var initial = await RunAsync(1, steps: 0);

        foreach (var other in new[] { two, four })
        {
            Assert.Equal(one.State.Parameters.Length, other.State.Parameters.Length);
            Assert.True(one.State.Parameters.Zip(other.State.Parameters).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);
            Assert.True(one.State.Buffers.Zip(other.State.Buffers).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);
            Assert.Equal(one.Losses, other.Losses);
        }

        // …and training did something: weights and running statistics moved.
        Assert.True(one.State.Parameters.Zip(initial.State.Parameters).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        Assert.True(one.State.Buffers.Zip(initial.State.Buffers).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
    }

    [Fact]
    public void A_worker_count_that_does_not_divide_the_ghost_batches_is_refused()
    {
        var options = new DataParallelOptions { GhostBatches = 4 };

        var error = Assert.Throws<ArgumentException>(() => options.GhostsOf(0, 3));

        Assert.Contains("must divide", error.Message, StringComparison.Ordinal);
        Assert.Equal([2, 3], options.GhostsOf(1, 2));
    }
}
