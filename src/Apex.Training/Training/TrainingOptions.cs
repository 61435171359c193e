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

/// <summary>What one epoch did, for progress display.</summary>
public sealed record EpochReport(int Epoch, int Epochs, double TrainLoss, double ValidationLoss, bool Improved, IReadOnlyList<float>? TaskWeights);
