using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Apex.Training.Torch;

/// <summary>
/// TorchSharp's BatchNorm1d with its forward rewritten to count batches with a held scalar: the
/// library's training-mode forward adds a temporary 1 to <c>num_batches_tracked</c> (see
/// <see cref="HeldScalars"/>). Parameters, buffers and their state-dictionary names are the library's,
/// so checkpoints are unchanged.
/// </summary>
public sealed class HeldScalarBatchNorm1d(long features, double epsilon = 1e-05, double runningMomentum = 0.1)
    : BatchNorm(features, epsilon, runningMomentum, affine: true, track_running_stats: true, device: null, dtype: null, name: "BatchNorm1d")
{
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        var factor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is not null)
        {
            num_batches_tracked.add_(HeldScalars.One, HeldScalars.One);
            factor = momentum ?? (1.0 / num_batches_tracked.item<long>());
        }

        var batchStatistics = training || (running_mean is null && running_var is null);
        var useRunning = !training || track_running_stats;
        return nn.functional.batch_norm(input, useRunning ? running_mean : null, useRunning ? running_var : null, weight, bias, batchStatistics, factor, eps);
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() is not (2 or 3))
        {
            throw new ArgumentException($"Expected 2D or 3D input (got {input.dim()}D input).", nameof(input));
        }
    }
}
