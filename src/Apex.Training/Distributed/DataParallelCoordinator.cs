using Apex.Training.Data;
using Apex.Training.Torch;
using Apex.Training.Training;
using static TorchSharp.torch;

namespace Apex.Training.Distributed;

/// <summary>
/// Data-parallel steps without torch.distributed (TorchSharp has none). The coordinator holds the
/// reference replica and its AdamW optimizer; each step it hands the ghost batches to the workers, adds
/// their gradients in ghost order (in double precision), takes one step, and folds the ghost batches'
/// BatchNorm statistics into the running statistics in ghost order, exactly as one replica running the
/// ghosts one after the other would. So any number of workers, in this process or on other silos,
/// follows the same trajectory, to the last bit where libtorch is deterministic. It broadcasts the
/// parameters each step rather than having every replica step its own optimizer: the trajectory is the
/// same, and a replaced worker needs no optimizer state.
/// </summary>
public sealed class DataParallelCoordinator : IDisposable
{
    private readonly Replica _replica;
    private readonly WorkerPool _workers;
    private long _step;

    /// <summary>Steps <paramref name="replica"/> (which stays the caller's) on the workers of <paramref name="workers"/>.</summary>
    public DataParallelCoordinator(Replica replica, TrainingOptions options, WorkerPool workers)
    {
        ArgumentNullException.ThrowIfNull(options);
        _replica = replica ?? throw new ArgumentNullException(nameof(replica));
        _workers = workers ?? throw new ArgumentNullException(nameof(workers));
        Optimizer = new HeldScalarAdamW(replica.Parameters, options.LearningRate, options.WeightDecay);
    }

    public Replica Replica => _replica;

    public HeldScalarAdamW Optimizer { get; }

    public long Step => _step;

    public ReplicaState State() => _replica.State(_step);

    /// <summary>One optimiser step over the ghost batches <paramref name="ghosts"/> of <paramref name="rows"/>.</summary>
    public async Task<StepReport> StepAsync(TrainingSet rows, IReadOnlyList<GhostPlan> ghosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(ghosts);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var step = _step;
        var input = new StepInput(step, rows, () => _replica.State(step));
        var gradients = await _workers.ComputeAsync(input, ghosts, cancellationToken);
        var computed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var reduceStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        Apply(gradients);
        var reduced = System.Diagnostics.Stopwatch.GetElapsedTime(reduceStarted);
        _step++;
        return new StepReport(_step, gradients.Sum(g => g.Loss), System.Diagnostics.Stopwatch.GetElapsedTime(started), computed, reduced);
    }

    public void Dispose() => Optimizer.Dispose();

    /// <summary>
    /// Sums the ghost gradients, steps and folds the statistics. Synchronous on purpose: its dispose
    /// scope (which holds every tensor it makes until the step is done) is thread-bound and must not
    /// cross an await.
    /// </summary>
    private void Apply(List<GhostGradient> ghosts)
    {
        var sum = new double[_replica.ParameterCount];
        foreach (var g in ghosts)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += g.Gradient[i];
            }
        }

        using (no_grad())
        using (NewDisposeScope())
        {
            var offset = 0;
            foreach (var p in _replica.Parameters)
            {
                var count = (int)p.numel();
                var values = new float[count];
                for (var i = 0; i < count; i++)
                {
                    values[i] = (float)sum[offset + i];
                }

                p.grad = OwnedTensors.Of(values, p.shape, p.device);
                offset += count;
            }

            // The gradient wrappers made here go with the scope; the parameters keep their gradients.
            Optimizer.step();
        }

        _replica.FoldStatistics(ghosts);
    }
}
