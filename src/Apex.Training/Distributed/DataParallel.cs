using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Torch;
using TorchSharp;
using Apex.Training.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Apex.Training.Distributed;

/// <summary>
/// Data-parallel training without torch.distributed (TorchSharp has none). The global batch of each step
/// is cut into <see cref="GhostBatches"/> ghost batches, each drawn from its own fixed shard of the
/// training set; a worker holds the shards of the ghost batches it computes. Every ghost batch is run
/// as a batch of its own: BatchNorm normalises with that ghost batch's statistics, dropout masks come
/// from a seed of (step, ghost), and its gradient is returned separately. The coordinator adds the
/// ghost gradients in ghost order, takes one AdamW step, and folds the ghost batches' BatchNorm
/// statistics into the running statistics in ghost order, exactly as one replica running the ghost
/// batches one after the other would. So K workers (any K dividing the ghost count) follow the same
/// trajectory as one, to the last bit where libtorch is deterministic.
/// </summary>
public sealed record DataParallelOptions
{
    /// <summary>Ghost batches per step; the worker count must divide it.</summary>
    public int GhostBatches { get; init; } = 4;

    /// <summary>Samples per step over all workers (split evenly over the ghost batches).</summary>
    public int GlobalBatch { get; init; } = 512;

    public TrainingOptions Training { get; init; } = new();

    public DataParallelOptions Validate()
    {
        if (GhostBatches < 1 || GlobalBatch < 2 * GhostBatches)
        {
            throw new ArgumentException("At least one ghost batch, and two samples per ghost batch (BatchNorm needs two rows).");
        }

        Training.Validate();
        return this;
    }

    public int GhostSize => GlobalBatch / GhostBatches;

    /// <summary>Which ghost batches (and so which shards) worker <paramref name="worker"/> of <paramref name="workers"/> holds.</summary>
    public IReadOnlyList<int> GhostsOf(int worker, int workers)
    {
        if (workers < 1 || GhostBatches % workers != 0)
        {
            throw new ArgumentException($"The worker count ({workers}) must divide the ghost batch count ({GhostBatches}).", nameof(workers));
        }

        var per = GhostBatches / workers;
        return Enumerable.Range(worker * per, per).ToList();
    }

    /// <summary>The samples (indices into the training set) of ghost batch <paramref name="ghost"/> at <paramref name="step"/>: a seeded draw from shard g (samples i with i mod G = g).</summary>
    public int[] GhostSamples(int sampleCount, long step, int ghost)
    {
        var shard = Enumerable.Range(0, sampleCount).Where(i => i % GhostBatches == ghost).ToArray();
        var random = new Random(HashCode.Combine(Training.Seed, step, ghost));
        random.Shuffle(shard);
        return shard.Take(Math.Min(GhostSize, shard.Length)).ToArray();
    }
}

/// <summary>The model state that travels to workers each step: every trainable value, then every BatchNorm buffer.</summary>
public sealed record ReplicaState(long Step, float[] Parameters, float[] Buffers);

/// <summary>One ghost batch's gradient (in parameter order), its BatchNorm batch statistics and its share of the loss.</summary>
public sealed record GhostGradient(int Ghost, float[] Gradient, float[] BatchStatistics, double Loss, int Samples);

/// <summary>A model replica (head and loss, for the uncertainty weights) with the flattening both sides agree on.</summary>
public sealed class Replica : IDisposable
{
    /// <summary>libtorch's random generator is process-wide: ghost batches seed it, so they run one at a time per process.</summary>
    private static readonly Lock TorchRandom = new();

    public Replica(HeadArchitecture architecture, TrainingOptions options, IReadOnlyList<ApexTask> tasks)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (TorchRandom)
        {
            random.manual_seed(options.Seed);
            Head = new ApexHead(architecture);
            Loss = new MultiTaskLoss(options.Loss, tasks);
        }

        Parameters = [.. Head.parameters(), .. Loss.parameters().Where(p => p.requires_grad)];
        Norms = Head.modules().OfType<HeldScalarBatchNorm1d>().ToList();
        RunningStatistics = Norms.SelectMany(n => new[] { n.running_mean!, n.running_var! }).ToList();
    }

    public ApexHead Head { get; }

    public MultiTaskLoss Loss { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    public IReadOnlyList<HeldScalarBatchNorm1d> Norms { get; }

    /// <summary>Every BatchNorm's running mean and variance, in the order <see cref="ReplicaState.Buffers"/> holds them.</summary>
    public IReadOnlyList<Tensor> RunningStatistics { get; }

    public int ParameterCount => (int)Parameters.Sum(p => p.numel());

    public ReplicaState State(long step)
    {
        using var _ = no_grad();
        return new ReplicaState(step, Flatten([.. Parameters]), ReadStatistics());
    }

    /// <summary>Starts from another head's weights and statistics (fine-tuning the serving model).</summary>
    public void LoadHead(ApexHead source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var _ = no_grad();
        Head.load_state_dict(source.state_dict());
    }

    public void Load(ReplicaState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var _ = no_grad();
        Unflatten(state.Parameters, Parameters);
        WriteStatistics(state.Buffers);
    }

    /// <summary>
    /// Forward and backward of one ghost batch from the current state. The loss is scaled by the ghost's
    /// share of the global batch, so the ghost gradients add up to the global batch's. BatchNorm runs with
    /// momentum 1 so that its running buffers hold exactly this batch's statistics, which are read and
    /// then put back.
    /// </summary>
    public GhostGradient Compute(TrainingSet data, int[] samples, long step, int ghost, DataParallelOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var saved = ReadStatistics();
        lock (TorchRandom)
        {
            using var scope = NewDisposeScope();
            random.manual_seed((options.Training.Seed * 1_000_003L) + (step * options.GhostBatches) + ghost);
            Head.train();
            foreach (var norm in Norms)
            {
                norm.momentum = 1.0;
            }

            foreach (var p in Parameters)
            {
                p.grad?.zero_();
            }

            var batch = data.Batch(samples);
            var x = tensor(batch.Features, [batch.Count, data.Layers, data.Hidden]);
            var y = tensor(batch.Labels, [batch.Count, data.Tasks.Count]);
            using var share = (batch.Count / (double)options.GlobalBatch).ToScalar();
            var loss = Loss.call(Head.call(x), y).mul(share);
            loss.backward();
            var gradient = Flatten(Parameters.Select(p => p.grad ?? zeros_like(p)).ToList());
            var statistics = ReadStatistics();
            foreach (var norm in Norms)
            {
                norm.momentum = 0.1;
            }

            WriteStatistics(saved);
            return new GhostGradient(ghost, gradient, statistics, loss.item<float>(), batch.Count);
        }
    }

    /// <summary>The running statistics alone (the parameters are not copied).</summary>
    public float[] ReadStatistics()
    {
        using var _ = no_grad();
        return Flatten(RunningStatistics);
    }

    public void WriteStatistics(float[] values)
    {
        using var _ = no_grad();
        Unflatten(values, RunningStatistics);
    }

    public void Dispose()
    {
        Head.Dispose();
        Loss.Dispose();
    }

    internal static float[] Flatten(IReadOnlyList<Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        var values = new float[tensors.Sum(t => t.numel())];
        var offset = 0;
        foreach (var t in tensors)
        {
            var data = t.detach().cpu().contiguous().data<float>().ToArray();
            data.CopyTo(values, offset);
            offset += data.Length;
        }

        return values;
    }

    internal static void Unflatten(float[] values, IReadOnlyList<Tensor> tensors)
    {
        var offset = 0;
        foreach (var t in tensors)
        {
            var count = (int)t.numel();
            using var source = tensor(values.AsSpan(offset, count).ToArray(), t.shape);
            t.copy_(source);
            offset += count;
        }
    }
}

/// <summary>A worker of a data-parallel run: takes the state, computes its ghost batches' gradients.</summary>
public interface IGradientWorker
{
    Task<IReadOnlyList<GhostGradient>> ComputeAsync(ReplicaState state, IReadOnlyList<int> ghosts, CancellationToken cancellationToken = default);
}

/// <summary>A worker in this process over the whole training set (it reads only its shards' samples).</summary>
public sealed class LocalGradientWorker(TrainingSet data, DataParallelOptions options, HeadArchitecture architecture) : IGradientWorker, IDisposable
{
    private readonly Replica _replica = new(architecture, options.Training, data.Tasks);

    public Task<IReadOnlyList<GhostGradient>> ComputeAsync(ReplicaState state, IReadOnlyList<int> ghosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(ghosts);
        _replica.Load(state);
        IReadOnlyList<GhostGradient> gradients = ghosts
            .Select(g => _replica.Compute(data, options.GhostSamples(data.SampleCount, state.Step, g), state.Step, g, options))
            .ToList();
        return Task.FromResult(gradients);
    }

    public void Dispose() => _replica.Dispose();
}

/// <summary>What one step did: the loss, and how long the exchange with the workers took beside the compute.</summary>
public sealed record StepReport(long Step, double Loss, TimeSpan Total, TimeSpan Workers, TimeSpan AllReduce);

/// <summary>
/// The coordinator: holds the reference replica and its AdamW optimizer, sends the state to the workers,
/// adds their ghost gradients in ghost order (in double precision), steps, and folds the BatchNorm
/// statistics. It broadcasts parameters each step rather than having every replica step its own
/// optimizer: the trajectory is the same, and a replaced worker needs no optimizer state.
/// </summary>
public sealed class DataParallelCoordinator : IDisposable
{
    private readonly DataParallelOptions _options;
    private readonly Replica _replica;
    private readonly HeldScalarAdamW _optimizer;
    private long _step;

    public DataParallelCoordinator(HeadArchitecture architecture, IReadOnlyList<ApexTask> tasks, DataParallelOptions options)
    {
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        _replica = new Replica(architecture, options.Training, tasks);
        _optimizer = new HeldScalarAdamW(_replica.Parameters, options.Training.LearningRate, options.Training.WeightDecay);
    }

    public Replica Replica => _replica;

    public long Step => _step;

    public ReplicaState State() => _replica.State(_step);

    /// <summary>One step over <paramref name="workers"/>; worker k computes the ghosts <see cref="DataParallelOptions.GhostsOf"/> gives it.</summary>
    public async Task<StepReport> StepAsync(IReadOnlyList<IGradientWorker> workers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workers);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var state = _replica.State(_step);
        var results = await Task.WhenAll(workers.Select((w, k) => w.ComputeAsync(state, _options.GhostsOf(k, workers.Count), cancellationToken)));
        var computed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var ghosts = results.SelectMany(r => r).OrderBy(g => g.Ghost).ToList();
        if (ghosts.Count != _options.GhostBatches)
        {
            throw new InvalidOperationException($"{ghosts.Count} ghost gradients came back for {_options.GhostBatches} ghost batches.");
        }

        var reduceStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        Apply(ghosts);
        var reduced = System.Diagnostics.Stopwatch.GetElapsedTime(reduceStarted);
        _step++;
        return new StepReport(_step, ghosts.Sum(g => g.Loss), System.Diagnostics.Stopwatch.GetElapsedTime(started), computed, reduced);
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _replica.Dispose();
    }

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

                p.grad = tensor(values, p.shape);
                offset += count;
            }

            // The gradient wrappers made here go with the scope; the parameters keep their gradients.
            _optimizer.step();
        }

        FoldStatistics(ghosts);
    }

    /// <summary>running ← (1 − m)·running + m·batch, ghost after ghost, as BatchNorm does batch after batch (m = 0.1).</summary>
    private void FoldStatistics(List<GhostGradient> ghosts)
    {
        const float Momentum = 0.1f;
        var running = _replica.ReadStatistics();
        foreach (var g in ghosts)
        {
            for (var i = 0; i < running.Length; i++)
            {
                running[i] = ((1 - Momentum) * running[i]) + (Momentum * g.BatchStatistics[i]);
            }
        }

        _replica.WriteStatistics(running);
    }
}

/// <summary>
/// A worker that holds only its shards: the samples of its ghost batches' shards, with their indices in
/// the whole training set, so that it draws exactly the samples a single worker would.
/// </summary>
public sealed class ShardGradientWorker : IGradientWorker, IDisposable
{
    private readonly TrainingSet _shard;
    private readonly Dictionary<int, int> _localOf;
    private readonly int _totalSamples;
    private readonly DataParallelOptions _options;
    private readonly Replica _replica;

    public ShardGradientWorker(TrainingSet shard, IReadOnlyList<int> globalIndices, int totalSamples, DataParallelOptions options, HeadArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(globalIndices);
        _shard = shard;
        _localOf = globalIndices.Select((g, local) => (g, local)).ToDictionary(p => p.g, p => p.local);
        _totalSamples = totalSamples;
        _options = options;
        _replica = new Replica(architecture, options.Training, shard.Tasks);
    }

    public Task<IReadOnlyList<GhostGradient>> ComputeAsync(ReplicaState state, IReadOnlyList<int> ghosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(ghosts);
        _replica.Load(state);
        var gradients = new List<GhostGradient>(ghosts.Count);
        foreach (var ghost in ghosts)
        {
            var samples = _options.GhostSamples(_totalSamples, state.Step, ghost).Select(g => _localOf.TryGetValue(g, out var local)
                ? local
                : throw new InvalidOperationException($"Sample {g} of ghost batch {ghost} is not in this worker's shards.")).ToArray();
            gradients.Add(_replica.Compute(_shard, samples, state.Step, ghost, _options));
        }

        return Task.FromResult<IReadOnlyList<GhostGradient>>(gradients);
    }

    public void Dispose() => _replica.Dispose();
}
