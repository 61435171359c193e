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

    /// <summary>Steps on ghost batches of consecutive samples; <paramref name="workers"/> 0: one worker on the coordinator's own replica.</summary>
    internal static async Task<(ReplicaState State, List<double> Losses)> RunAsync(TrainingSet set, HeadArchitecture architecture, TrainingOptions options, int workers, int steps, Func<IGradientWorker, IGradientWorker>? wrap = null)
    {
        using var replica = new Replica(architecture, options);
        var own = Enumerable.Range(0, workers).Select(_ => new LocalGradientWorker(architecture, options)).ToList();
        using var shared = LocalGradientWorker.Sharing(replica);
        IGradientWorker[] pool = workers == 0 ? [shared] : [.. own];
        using var coordinator = new DataParallelCoordinator(replica, options, WorkerPool.Of([.. pool.Select(w => wrap?.Invoke(w) ?? w)]));
        var global = options.BatchSize * options.GhostBatches;
        var losses = new List<double>();
        for (var s = 0; s < steps; s++)
        {
            var ghosts = Enumerable.Range(0, options.GhostBatches)
                .Select(g => new GhostPlan(g, Enumerable.Range(((s * global) + (g * options.BatchSize)) % set.SampleCount, options.BatchSize).Select(i => i % set.SampleCount).ToArray(), 1.0 / options.GhostBatches))
                .ToList();
            losses.Add((await coordinator.StepAsync(set, ghosts)).Loss);
        }

        own.ForEach(w => w.Dispose());
        return (coordinator.State(), losses);
    }

    [Fact]
    public async Task Any_number_of_workers_reaches_the_same_weights_and_batchnorm_statistics_as_the_trainers_own_replica()
    {
        var (set, architecture) = Data();
        var options = new TrainingOptions { GhostBatches = 4, BatchSize = 16, Seed = 3 };
        var local = await RunAsync(set, architecture, options, workers: 0, steps: 6);
        var initial = await RunAsync(set, architecture, options, workers: 0, steps: 0);

        foreach (var workers in new[] { 1, 2, 3, 4 })
        {
            var other = await RunAsync(set, architecture, options, workers, steps: 6);
            Assert.Equal(local.State.Parameters, other.State.Parameters);
            Assert.Equal(local.State.Buffers, other.State.Buffers);
            Assert.Equal(local.Losses, other.Losses);
        }

        // …and training did something: weights and running statistics moved.
        Assert.True(local.State.Parameters.Zip(initial.State.Parameters).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        Assert.True(local.State.Buffers.Zip(initial.State.Buffers).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
    }

    [Fact]
    public async Task The_trainer_on_workers_of_their_own_gives_the_head_it_gives_in_process_and_a_lost_step_is_retried_from_the_same_state()
    {
        var (set, architecture) = Data(seed: 4);
        var (validation, _) = Data(seed: 5);
        var options = new TrainingOptions { GhostBatches = 4, BatchSize = 24, Epochs = 4, Seed = 8 };
        var inProcess = Trainer.Train(set, validation, options);
        var workers = Enumerable.Range(0, 3).Select(_ => new LocalGradientWorker(architecture, options)).ToList();
        var failures = 0;
        var pool = new WorkerPool((attempt, _) => Task.FromResult<IReadOnlyList<IGradientWorker>>(
            // The first set of workers dies at its third step; the fresh set finishes the run.
            attempt == 0 ? [.. workers.Select(w => new FailingWorker(w, failAt: 2))] : [.. workers]), maxRetries: 1, (_, _, _) => failures++);
        var distributed = await Trainer.TrainAsync(set, validation, options, new TrainingStart { Workers = pool });
        workers.ForEach(w => w.Dispose());

        Assert.Equal(1, failures);
        Assert.Equal(inProcess.BestEpoch, distributed.BestEpoch);
        Assert.Equal(inProcess.History.Select(h => h.ValidationLoss), distributed.History.Select(h => h.ValidationLoss));
        var expected = inProcess.Head.state_dict();
        foreach (var (name, tensor) in distributed.Head.state_dict())
        {
            Assert.True(tensor.equal(expected[name]).all().item<bool>(), $"{name} differs");
        }
    }

    /// <summary>A worker that throws from step <c>failAt</c> on, as one on a dying silo does.</summary>
    private sealed class FailingWorker(IGradientWorker inner, long failAt) : IGradientWorker
    {
        public Task<IReadOnlyList<GhostGradient>> ComputeAsync(StepInput input, IReadOnlyList<GhostPlan> ghosts, CancellationToken cancellationToken = default) =>
            input.Step >= failAt ? throw new InvalidOperationException("the worker's silo died") : inner.ComputeAsync(input, ghosts, cancellationToken);
    }
}
