using Apex.Training.Data;
using Apex.Training.Model;

namespace Apex.Training.Training;

/// <summary>One training condition and its optimiser settings (defaults: the paper's).</summary>
public sealed record TrainingOptions
{
    public LossStrategy Loss { get; init; } = LossStrategy.Uncertainty;

    public int TrunkDepth { get; init; } = 2;

    public InputMode Mode { get; init; } = InputMode.Song;

    public string TaskSet { get; init; } = "full";

    public int Epochs { get; init; } = 100;

    /// <summary>Rows per (ghost) batch: BatchNorm's statistics are taken over this many.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>
    /// Ghost batches per optimiser step: each of <see cref="BatchSize"/> rows is forwarded with its own
    /// BatchNorm statistics and their gradients add up to one step over GhostBatches × BatchSize rows.
    /// The paper trained with 4 × 512 (what <c>apex train</c> and <c>apex ablate</c> default to); 1 is a
    /// plain mini-batch.
    /// </summary>
    public int GhostBatches { get; init; } = 1;

    public double LearningRate { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 1e-2;

    /// <summary>Epochs without a better validation loss before training stops.</summary>
    public int Patience { get; init; } = 10;

    public int Seed { get; init; } = 42;

    /// <summary>Arithmetic of the forward and backward passes: mixed (bfloat16) on CUDA, fp32 on the CPU, unless set.</summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Auto;

    /// <summary>Whether this run computes in bfloat16 on <paramref name="onCuda"/>'s device.</summary>
    public bool MixedOn(bool onCuda) => Precision == TrainingPrecision.Mixed || (Precision == TrainingPrecision.Auto && onCuda);

    public TrainingOptions Validate()
    {
        if (Epochs < 1 || BatchSize < 2 || GhostBatches < 1 || !(LearningRate > 0) || WeightDecay < 0 || Patience < 1)
        {
            throw new ArgumentException("Epochs ≥ 1, batch size ≥ 2 (BatchNorm needs two rows), ghost batches ≥ 1, learning rate > 0, weight decay ≥ 0 and patience ≥ 1.");
        }

        _ = HeadArchitecture.TrunkOf(TrunkDepth);
        _ = ApexTasks.ByName(TaskSet);
        return this;
    }
}

/// <summary>How a run computes.</summary>
public enum TrainingPrecision
{
    /// <summary>Mixed on CUDA, fp32 on the CPU.</summary>
    Auto,

    /// <summary>fp32 throughout.</summary>
    Fp32,

    /// <summary>
    /// The head's forward and backward in bfloat16 with fp32 master weights, optimizer and loss (what
    /// PyTorch's autocast with bfloat16 does; bfloat16 has fp32's range, so no loss scaling). TorchSharp
    /// has no autocast, so the project keeps a bfloat16 copy of the head itself.
    /// </summary>
    Mixed,
}

/// <summary>What one epoch did, for progress display.</summary>
public sealed record EpochReport(int Epoch, int Epochs, double TrainLoss, double ValidationLoss, bool Improved, IReadOnlyList<float>? TaskWeights);
