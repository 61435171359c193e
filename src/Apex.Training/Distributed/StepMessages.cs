namespace Apex.Training.Distributed;

// What travels between the coordinator and its workers in one step.

/// <summary>
/// One ghost batch of a step: its place in the step, its samples (indices into the step's rows) and its
/// share of the rows the step uses (its loss is scaled by it, so the ghosts' gradients add up to the step's).
/// </summary>
public sealed record GhostPlan(int Ghost, int[] Samples, double Share);

/// <summary>The model state that travels to workers each step: every trainable value, then every BatchNorm buffer.</summary>
public sealed record ReplicaState(long Step, float[] Parameters, float[] Buffers);

/// <summary>One ghost batch's gradient (in parameter order), its BatchNorm batch statistics and its share of the loss.</summary>
public sealed record GhostGradient(int Ghost, float[] Gradient, float[] BatchStatistics, double Loss, int Samples);

/// <summary>What one step did: the loss, and how long the exchange with the workers took beside the compute.</summary>
public sealed record StepReport(long Step, double Loss, TimeSpan Total, TimeSpan Workers, TimeSpan AllReduce);
