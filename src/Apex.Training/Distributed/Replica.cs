using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Torch;
using Apex.Training.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Apex.Training.Distributed;

/// <summary>
/// A model replica (head and loss, for the uncertainty weights) with the flattening both sides of a
/// step agree on, and the one computation of a ghost batch's gradient that every trainer runs.
/// </summary>
public sealed class Replica : IDisposable
{
    private const double Momentum = 0.1;

    private readonly TrainingOptions _options;
    private readonly LowPrecisionCopy? _low;
    private readonly IReadOnlyList<HeldScalarBatchNorm1d> _forwardNorms;
    private bool _ownsModel = true;

    /// <summary>A head initialised from <see cref="TrainingOptions.Seed"/>, on <paramref name="device"/>, computing as <see cref="TrainingOptions.Precision"/> says there.</summary>
    public Replica(HeadArchitecture architecture, TrainingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        _options = options ?? throw new ArgumentNullException(nameof(options));
        Device = device ?? CPU;
        lock (Torch.TorchRandom.Gate)
        {
            random.manual_seed(options.Seed);
            Head = new ApexHead(architecture);
            Loss = new MultiTaskLoss(options.Loss, architecture.Tasks);
        }

        Head.to(Device);
        Loss.to(Device);
        Parameters = [.. Head.parameters(), .. Loss.parameters().Where(p => p.requires_grad)];
        Norms = Head.modules().OfType<HeldScalarBatchNorm1d>().ToList();
        RunningStatistics = Norms.SelectMany(n => new[] { n.running_mean!, n.running_var! }).ToList();
        _low = options.MixedOn(Device.type == DeviceType.CUDA) ? new LowPrecisionCopy(Head, architecture, Device) : null;
        _forwardNorms = _low?.Norms ?? Norms;
    }

    public ApexHead Head { get; }

    public MultiTaskLoss Loss { get; }

    public Device Device { get; }

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

    /// <summary>Starts from another head's weights and statistics (fine-tuning a trained model).</summary>
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
    /// Forward and backward of one ghost batch from the current state, as a batch of its own: BatchNorm
    /// normalises with this batch's statistics, dropout masks come from a seed of (step, ghost), and the
    /// loss is scaled by the ghost's share of the step. BatchNorm runs with momentum 1 so that its
    /// running buffers hold exactly this batch's statistics, which are read; buffers and batch counters
    /// are then put back, so the replica's state is unchanged but for its gradients.
    /// </summary>
    public GhostGradient Compute(TrainingSet rows, GhostPlan plan, long step)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(plan);
        var saved = ReadStatistics();
        lock (Torch.TorchRandom.Gate)
        {
            using var scope = NewDisposeScope();
            var counters = Norms.Select(n => n.num_batches_tracked!.clone()).ToList();
            random.manual_seed((_options.Seed * 1_000_003L) + (step * _options.GhostBatches) + plan.Ghost);
            Head.train();
            SetMomentum(1.0);
            foreach (var p in Parameters)
            {
                p.grad?.zero_();
            }

            _low?.Begin();
            var batch = rows.Batch(plan.Samples);
            var x = OwnedTensors.Of(batch.Features, [batch.Count, rows.Layers, rows.Hidden], Device);
            var y = OwnedTensors.Of(batch.Labels, [batch.Count, rows.Tasks.Count], Device);
            using var share = plan.Share.ToScalar();
            var loss = Loss.call(_low is null ? Head.call(x) : _low.Forward(x), y).mul(share);
            loss.backward();
            _low?.End();
            var gradient = Flatten(Parameters.Select(p => p.grad ?? zeros_like(p)).ToList());
            var statistics = ReadStatistics();
            SetMomentum(Momentum);
            WriteStatistics(saved);
            using (no_grad())
            {
                foreach (var (norm, counter) in Norms.Zip(counters))
                {
                    norm.num_batches_tracked!.copy_(counter);
                }
            }

            return new GhostGradient(plan.Ghost, gradient, statistics, loss.item<float>(), batch.Count);
        }
    }

    /// <summary>
    /// running ← (1 − m)·running + m·batch, ghost after ghost, and each ghost counted, as BatchNorm does
    /// batch after batch (m = 0.1).
    /// </summary>
    public void FoldStatistics(IReadOnlyList<GhostGradient> ghosts)
    {
        ArgumentNullException.ThrowIfNull(ghosts);
        const float M = (float)Momentum;
        var running = ReadStatistics();
        foreach (var g in ghosts)
        {
            for (var i = 0; i < running.Length; i++)
            {
                running[i] = ((1 - M) * running[i]) + (M * g.BatchStatistics[i]);
            }
        }

        WriteStatistics(running);
        using var _ = no_grad();
        foreach (var norm in Norms)
        {
            for (var g = 0; g < ghosts.Count; g++)
            {
                norm.num_batches_tracked!.add_(HeldScalars.One, HeldScalars.One);
            }
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

    /// <summary>Hands head and loss to the caller (a finished training run's result); the rest of the replica is freed.</summary>
    public (ApexHead Head, MultiTaskLoss Loss) Release()
    {
        _ownsModel = false;
        _low?.Dispose();
        return (Head, Loss);
    }

    public void Dispose()
    {
        if (_ownsModel)
        {
            _low?.Dispose();
            Head.Dispose();
            Loss.Dispose();
        }
    }

    private void SetMomentum(double momentum)
    {
        foreach (var norm in Norms.Concat(_forwardNorms).Distinct())
        {
            norm.momentum = momentum;
        }
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
