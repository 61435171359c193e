using Apex.Training.Distributed;
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
        var options = new TrainingOptions { GhostBatches = 4, BatchSize = 16, Seed = 5 };

        var quiet = await DataParallelTests.RunAsync(set, architecture, options, workers: 1, Steps);
        using var stop = new CancellationTokenSource();
        var load = StartLoad(stop.Token);
        (ReplicaState State, List<double> Losses) stressed;
        try
        {
            stressed = await DataParallelTests.RunAsync(set, architecture, options, workers: 4, Steps, wrap: w => new ThreadPoolWorker(w));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        Assert.Equal(Steps, stressed.Losses.Count);
        Assert.All(stressed.Losses, loss => Assert.True(double.IsFinite(loss)));
        Assert.Equal(quiet.Losses, stressed.Losses);
        Assert.Equal(quiet.State.Parameters, stressed.State.Parameters);
        Assert.Equal(quiet.State.Buffers, stressed.State.Buffers);
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

    /// <summary>Answers from a thread-pool thread (after a collection), as a worker grain's <c>Task.Run</c> does.</summary>
    private sealed class ThreadPoolWorker(IGradientWorker inner) : IGradientWorker
    {
        public Task<IReadOnlyList<GhostGradient>> ComputeAsync(StepInput input, IReadOnlyList<GhostPlan> ghosts, CancellationToken cancellationToken = default) =>
            Task.Run(() =>
            {
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                return inner.ComputeAsync(input, ghosts, cancellationToken);
            }, cancellationToken);
    }
}
