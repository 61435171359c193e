using Apex.Training.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Apex.Training.Model;

/// <summary>How the per-task losses are combined.</summary>
public enum LossStrategy
{
    /// <summary>Σ MSE_i.</summary>
    Equal,

    /// <summary>Σ w_i · MSE_i with popularity 1.0 and aesthetics 0.5.</summary>
    Manual,

    /// <summary>Kendall et al. (2018): Σ ½·exp(−s_i)·MSE_i + ½·s_i with learnable s_i = log σ_i².</summary>
    Uncertainty,
}

/// <summary>
/// The multi-task loss over [batch, tasks] predictions and targets. A NaN target is a missing label:
/// it is masked out of its task's MSE, and a task with no label in the batch adds nothing (not even its
/// uncertainty term).
/// </summary>
public sealed class MultiTaskLoss : nn.Module<Tensor, Tensor, Tensor>
{
    public const double PopularityWeight = 1.0;
    public const double AestheticWeight = 0.5;

    private readonly float[] _weights;

    public MultiTaskLoss(LossStrategy strategy, IReadOnlyList<ApexTask> tasks)
        : base(nameof(MultiTaskLoss))
    {
        ArgumentNullException.ThrowIfNull(tasks);
        Strategy = strategy;
        _weights = tasks.Select(t => (float)(strategy == LossStrategy.Manual && t.Kind == TaskKind.Aesthetic ? AestheticWeight : PopularityWeight)).ToArray();
        LogVariances = new Parameter(zeros(tasks.Count), requires_grad: strategy == LossStrategy.Uncertainty);
        RegisterComponents();
    }

    public LossStrategy Strategy { get; }

    /// <summary>s_i = log σ_i², learnt under <see cref="LossStrategy.Uncertainty"/> (zero and frozen otherwise).</summary>
    public Parameter LogVariances { get; }

    /// <summary>Per-task MSE over the labelled rows, and which tasks had any label: both [tasks].</summary>
    public static (Tensor Mse, Tensor Present) MaskedMse(Tensor predicted, Tensor target)
    {
        using var scope = NewDisposeScope();
        var labelled = target.isnan().logical_not().to_type(ScalarType.Float32);
        // where(), not multiplication by the mask: 0 · NaN would still be NaN.
        var filled = where(labelled.to_type(ScalarType.Bool), target, zeros_like(target));
        var error = predicted - filled;
        var squared = error * error * labelled;
        var counts = labelled.sum(dim: 0);
        var mse = squared.sum(dim: 0) / counts.clamp_min(HeldScalars.One);
        var present = counts.gt(HeldScalars.Zero).to_type(ScalarType.Float32);
        return (mse.MoveToOuterDisposeScope(), present.MoveToOuterDisposeScope());
    }

    public override Tensor forward(Tensor predicted, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (mse, present) = MaskedMse(predicted, target);
        Tensor perTask = Strategy switch
        {
            LossStrategy.Uncertainty => ((-LogVariances).exp().mul(HeldScalars.Half) * mse).add(LogVariances.mul(HeldScalars.Half), HeldScalars.One),
            _ => OwnedTensors.Of(_weights, predicted.device) * mse,
        };
        return (perTask * present).sum().MoveToOuterDisposeScope();
    }

    /// <summary>The learnt weight ½·exp(−s_i) of each task (uncertainty weighting), for progress display.</summary>
    public float[] TaskWeights()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return (-LogVariances).exp().mul(HeldScalars.Half).data<float>().ToArray();
    }
}
