using Apex.Grains.Scoring;
using Apex.Grains.Training;
using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;

namespace Apex.Scoring.Training;

/// <summary>
/// A data-parallel worker, placed like an embedder (on a GPU silo, on CPU silos only when the cluster has
/// no GPU silo and allows CPU work): it keeps its shards and a replica, and answers ghost-batch gradients.
/// Its replica runs on the CPU here (the TorchSharp CUDA backend is a build switch the mirror cannot
/// restore); the silo's device index is in its key for a CUDA build.
/// </summary>
[GpuPlacement]
public sealed class TrainingWorkerGrain(ILocalSiloDetails silo) : Grain, ITrainingWorkerGrain, IDisposable
{
    private ShardGradientWorker? _worker;

    // The compute in flight on the thread pool: a worker is freed only after it (a replica freed under
    // a running backward crashes libtorch, as a silo stopping mid-step did).
    private Task _computing = Task.CompletedTask;

    Task ITrainingWorkerGrain.LoadAsync(WorkerShard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var tasks = shard.Tasks.Select(name => ApexTasks.Full.Single(t => t.Name == name)).ToList();
        var set = TrainingSet.FromArrays(shard.Layers, shard.Hidden, tasks, shard.Features, shard.Labels);
        var options = TrainerGrain.Options(shard.GhostBatches, shard.GlobalBatch, shard.Seed);
        Retire(_worker);
        _worker = new ShardGradientWorker(set, shard.GlobalIndices, shard.TotalSamples, options, new HeadArchitecture(shard.Layers, shard.Hidden, shard.Trunk, tasks, shard.BranchWidth, shard.TrunkDropout, shard.BranchDropout));
        return Task.CompletedTask;
    }

    async Task<IReadOnlyList<WorkerGhostGradient>> ITrainingWorkerGrain.ComputeAsync(WorkerState state, IReadOnlyList<int> ghosts)
    {
        ArgumentNullException.ThrowIfNull(state);
        var worker = _worker ?? throw new InvalidOperationException("This worker has no shard: load it first.");
        var address = silo.SiloAddress.ToParsableString();
        var computing = Task.Run(() => worker.ComputeAsync(new ReplicaState(state.Step, state.Parameters, state.Buffers), ghosts));
        _computing = computing;
        var gradients = await computing;
        return gradients.Select(g => new WorkerGhostGradient(g.Ghost, g.Gradient, g.BatchStatistics, g.Loss, g.Samples, address)).ToList();
    }

    public void Dispose() => Retire(_worker);

    private void Retire(ShardGradientWorker? worker)
    {
        if (worker is not null)
        {
            _computing.ContinueWith(_ => worker.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}

/// <summary>The coordinator's view of a worker grain.</summary>
internal sealed class GrainGradientWorker(ITrainingWorkerGrain grain) : IGradientWorker
{
    public async Task<IReadOnlyList<GhostGradient>> ComputeAsync(ReplicaState state, IReadOnlyList<int> ghosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        var gradients = await grain.ComputeAsync(new WorkerState(state.Step, state.Parameters, state.Buffers), ghosts);
        return gradients.Select(g => new GhostGradient(g.Ghost, g.Gradient, g.BatchStatistics, g.Loss, g.Samples)).ToList();
    }
}
