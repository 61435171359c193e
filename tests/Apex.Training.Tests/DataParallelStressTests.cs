using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Training.Tests;

/// <summary>
/// Data-parallel steps while the process is as hostile to native lifetimes as it gets: a thread forcing
/// garbage collections and finalizers without pause, thread-pool work allocating beside it, another
/// collection between steps, and workers answering from thread-pool threads. Before TorchSharp's
/// temporary scalars were replaced by held ones this failed within seconds ("Unknown scalar type").
/// </summary>
public sealed class DataParallelStressTests
{
    private const int Steps = 40;

    [Fact]
    public async Task Many_steps_under_collections_and_load_complete_and_match_one_quiet_worker()
    {
        var (set, architecture) = DataParallelTests.Data(seed: 11);
        var options = new DataParallelOptions { GhostBatches = 4, GlobalBatch = 64, Training = new TrainingOptions { Seed = 5 } };

        var quiet = await RunAsync(set, architecture, options, workers: 1, hostile: false);
        var stressed = await RunAsync(set, architecture, options, workers: 4, hostile: true);

        Assert.Equal(Steps, stressed.Losses.Count);
        Assert.All(stressed.Losses, loss => Assert.True(double.IsFinite(loss)));
        Assert.Equal(quiet.Losses, stressed.Losses);
        Assert.Equal(quiet.State.Parameters, stressed.State.Parameters);
        Assert.Equal(quiet.State.Buffers, stressed.State.Buffers);
    }

    private static async Task<(ReplicaState State, List<double> Losses)> RunAsync(TrainingSet set, HeadArchitecture architecture, DataParallelOptions options, int workers, bool hostile)
    {
        using var coordinator = new DataParallelCoordinator(architecture, set.Tasks, options);
        var local = Enumerable.Range(0, workers).Select(_ => new LocalGradientWorker(set, options, architecture)).ToList();
        var pool = local.Select(w => (IGradientWorker)new ThreadPoolWorker(w)).ToList();
        using var stop = new CancellationTokenSource();
        var load = hostile ? StartLoad(stop.Token) : [];
        var losses = new List<double>();
        try
        {
            for (var s = 0; s < Steps; s++)
            {
                losses.Add((await coordinator.StepAsync(pool)).Loss);
                if (hostile)
                {
                    GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
            local.ForEach(w => w.Dispose());
        }

        return (coordinator.State(), losses);
    }

    private static Task[] StartLoad(CancellationToken stop)
    {
        var collector = Task.Factory.StartNew(() =>
        {
            // Young-generation collections: cheap, and exactly where a just-made temporary lives.
            while (!stop.IsCancellationRequested)
            {
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
            }
        }, stop, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var allocators = Enumerable.Range(0, 1).Select(_ => Task.Run(() =>
        {
            var kept = new List<byte[]>();
            while (!stop.IsCancellationRequested)
            {
                kept.Add(new byte[4096]);
                if (kept.Count > 2000)
                {
                    kept.Clear();
                }
            }
        }, CancellationToken.None));
        return [collector, .. allocators];
    }

    /// <summary>Answers from a thread-pool thread, as a worker grain's <c>Task.Run</c> does.</summary>
    private sealed class ThreadPoolWorker(IGradientWorker inner) : IGradientWorker
    {
        public Task<IReadOnlyList<GhostGradient>> ComputeAsync(ReplicaState state, IReadOnlyList<int> ghosts, CancellationToken cancellationToken = default) =>
            Task.Run(() => inner.ComputeAsync(state, ghosts, cancellationToken), cancellationToken);
    }
}
