using Apex.Grains.Scoring;
using Apex.Grains.Training;
using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Scoring.Training;

/// <summary>
/// A data-parallel worker, placed like an embedder (on a GPU silo, on CPU silos only when the cluster has
/// no GPU silo and allows CPU work): it keeps the run's training set and a replica, and answers
/// ghost-batch gradients with the same computation as <c>apex train</c>'s in-process worker. Its replica
/// runs on the CPU here (the TorchSharp CUDA backend is a build switch the mirror cannot restore).
/// </summary>
[GpuPlacement]
public sealed class TrainingWorkerGrain(ILocalSiloDetails silo) : Grain, ITrainingWorkerGrain, IDisposable
{
    private WorkerSetup? _setup;
    private readonly List<(float[] Features, float[] Labels)> _parts = [];
    private int _received;
    private TrainingSet? _rows;
    private LocalGradientWorker? _worker;

    // The compute in flight on the thread pool: a worker is freed only after it (a replica freed under
    // a running backward crashes libtorch, as a silo stopping mid-step did).
    private Task _computing = Task.CompletedTask;

    Task ITrainingWorkerGrain.BeginAsync(WorkerSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        Retire(_worker);
        (_setup, _worker, _rows, _received) = (setup, null, null, 0);
        _parts.Clear();
        return Task.CompletedTask;
    }

    Task ITrainingWorkerGrain.AddRowsAsync(float[] features, float[] labels)
    {
        var setup = _setup ?? throw new InvalidOperationException("This worker has not begun a run.");
        var rows = labels.Length / setup.Tasks.Count;
        if (features.Length != rows * setup.Layers * setup.Hidden || labels.Length != rows * setup.Tasks.Count || _received + rows > setup.Rows)
        {
            throw new ArgumentException($"Rows do not fit the run: {features.Length} features and {labels.Length} labels after {_received} of {setup.Rows} rows.");
        }

        _parts.Add((features, labels));
        _received += rows;
        return Task.CompletedTask;
    }

    async Task<IReadOnlyList<WorkerGhostGradient>> ITrainingWorkerGrain.ComputeAsync(WorkerState state, IReadOnlyList<WorkerGhost> ghosts)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(ghosts);
        var setup = _setup ?? throw new InvalidOperationException("This worker has not begun a run.");
        if (_received != setup.Rows)
        {
            throw new InvalidOperationException($"This worker holds {_received} of the run's {setup.Rows} rows.");
        }

        var tasks = setup.Tasks.Select(name => ApexTasks.Full.Single(t => t.Name == name)).ToList();
        _rows ??= TrainingSet.FromArrays(setup.Layers, setup.Hidden, tasks, [.. _parts.SelectMany(p => p.Features)], [.. _parts.SelectMany(p => p.Labels)]);
        _parts.Clear();
        var worker = _worker ??= new LocalGradientWorker(
            new HeadArchitecture(setup.Layers, setup.Hidden, setup.Trunk, tasks, setup.BranchWidth, setup.TrunkDropout, setup.BranchDropout),
            new TrainingOptions
            {
                Seed = setup.Seed, GhostBatches = setup.GhostBatches,
                Loss = Enum.Parse<LossStrategy>(setup.Loss, ignoreCase: true), Precision = Enum.Parse<TrainingPrecision>(setup.Precision, ignoreCase: true),
            });
        var address = silo.SiloAddress.ToParsableString();
        var input = new StepInput(state.Step, _rows, () => new ReplicaState(state.Step, state.Parameters, state.Buffers));
        var plans = ghosts.Select(g => new GhostPlan(g.Ghost, g.Samples, g.Share)).ToList();
        var computing = Task.Run(() => worker.ComputeAsync(input, plans));
        _computing = computing;
        var gradients = await computing;
        return gradients.Select(g => new WorkerGhostGradient(g.Ghost, g.Gradient, g.BatchStatistics, g.Loss, g.Samples, address)).ToList();
    }

    public void Dispose() => Retire(_worker);

    private void Retire(LocalGradientWorker? worker)
    {
        if (worker is not null)
        {
            _computing.ContinueWith(_ => worker.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}

/// <summary>The coordinator's view of a worker grain that holds the run's whole training set.</summary>
internal sealed class GrainGradientWorker(ITrainingWorkerGrain grain, int rows) : IGradientWorker
{
    public async Task<IReadOnlyList<GhostGradient>> ComputeAsync(StepInput input, IReadOnlyList<GhostPlan> ghosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(ghosts);
        if (input.Rows.SampleCount != rows)
        {
            throw new InvalidOperationException($"A worker grain holds the run's {rows} training rows; this step indexes {input.Rows.SampleCount}.");
        }

        var state = input.State;
        var gradients = await grain.ComputeAsync(new WorkerState(state.Step, state.Parameters, state.Buffers), ghosts.Select(g => new WorkerGhost(g.Ghost, g.Samples, g.Share)).ToList());
        return gradients.Select(g => new GhostGradient(g.Ghost, g.Gradient, g.BatchStatistics, g.Loss, g.Samples)).ToList();
    }
}
