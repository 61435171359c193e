using Apex.Training.Distributed;
using Apex.Training.Model;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>Where and from what a training run starts, and whom it tells how it goes.</summary>
public sealed record TrainingStart
{
    public Device? Device { get; init; }

    /// <summary>Fine-tunes this head (its architecture, weights and BatchNorm statistics) instead of a seeded new one.</summary>
    public ApexHead? Init { get; init; }

    /// <summary>The workers that compute the ghost batches; none: one in this process, on the trainer's own replica.</summary>
    public WorkerPool? Workers { get; init; }

    public Action<EpochReport>? Epochs { get; init; }

    public Action<StepReport>? Steps { get; init; }
}
