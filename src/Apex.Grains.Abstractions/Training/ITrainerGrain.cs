namespace Apex.Grains.Training;

/// <summary>
/// The cluster's trainer (key 0): checks label drift on a reminder, runs one data-parallel training
/// run at a time, evaluates the candidate against the serving model on the same held-out tracks,
/// promotes it only if it is better by the margin, and re-scores tracks with the new version.
/// </summary>
[Alias("Apex.Grains.Training.ITrainerGrain")]
public interface ITrainerGrain : IGrainWithIntegerKey
{
    /// <summary>Starts a run now unless one is running; answers the run (new or running).</summary>
    [Alias("StartAsync")]
    Task<TrainingRunView> StartAsync(string reason);

    [Alias("GetRunAsync")]
    Task<TrainingRunView?> GetRunAsync(string id);

    [Alias("ListRunsAsync")]
    Task<IReadOnlyList<TrainingRunView>> ListRunsAsync();

    /// <summary>Serves <paramref name="version"/> (a registry checkpoint) and re-scores the tracks with it in the background.</summary>
    [Alias("PromoteAsync")]
    Task<string> PromoteAsync(string version);

    /// <summary>Serves the version served before the current one (null when there is none) and re-scores with it.</summary>
    [Alias("RollbackAsync")]
    Task<string?> RollbackAsync();

    /// <summary>The re-scoring with the serving version: in progress, or the last one finished (null before any).</summary>
    [Alias("GetRolloutAsync")]
    Task<RolloutView?> GetRolloutAsync();

    /// <summary>The drift now: new mature scored tracks since the last run and the share whose popularity moved.</summary>
    [Alias("GetDriftAsync")]
    Task<DriftView> GetDriftAsync();
}

public enum TrainingRunStatus
{
    Running,
    Promoted,
    NotPromoted,
    Failed,
}

[GenerateSerializer]
[Alias("Apex.Grains.Training.ModelMetrics")]
public sealed record ModelMetrics(
    [property: Id(0)] string Version,
    [property: Id(1)] double? StreamsPearson,
    [property: Id(2)] double? LikesPearson,
    [property: Id(3)] double? MeanPearson,
    [property: Id(4)] int HeldOutTracks);

[GenerateSerializer]
[Alias("Apex.Grains.Training.TrainingRunView")]
public sealed record TrainingRunView(
    [property: Id(0)] string Id,
    [property: Id(1)] TrainingRunStatus Status,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset StartedAt,
    [property: Id(4)] DateTimeOffset? FinishedAt,
    [property: Id(5)] int Workers,
    [property: Id(6)] long Steps,
    [property: Id(7)] long StepsDone,
    [property: Id(8)] int TrainingTracks,
    [property: Id(9)] ModelMetrics? Candidate,
    [property: Id(10)] ModelMetrics? Serving,
    [property: Id(11)] string? Decision,
    [property: Id(12)] string? Error,
    [property: Id(13)] int Retries,
    [property: Id(14)] int RescoreTotal,
    [property: Id(15)] int Rescored,
    [property: Id(16)] int EpochsDone = 0,
    [property: Id(17)] int BestEpoch = 0);

/// <summary>
/// Re-scoring every scored track with a newly served version (after a promotion or a rollback), stored
/// with the trainer's state: <see cref="Done"/> tracks in track-id order are re-scored, and a restart
/// resumes from there.
/// </summary>
[GenerateSerializer]
[Alias("Apex.Grains.Training.RolloutView")]
public sealed record RolloutView(
    [property: Id(0)] string Version,
    [property: Id(1)] string? RunId,
    [property: Id(2)] DateTimeOffset StartedAt,
    [property: Id(3)] DateTimeOffset? FinishedAt,
    [property: Id(4)] int Total,
    [property: Id(5)] int Done,
    [property: Id(6)] string? Error);

[GenerateSerializer]
[Alias("Apex.Grains.Training.DriftView")]
public sealed record DriftView(
    [property: Id(0)] int MatureScoredTracks,
    [property: Id(1)] int NewMatureSinceLastRun,
    [property: Id(2)] double MovedShare,
    [property: Id(3)] bool Due,
    [property: Id(4)] DateTimeOffset? LastRunAt);

/// <summary>
/// A data-parallel worker (key: an embedder-style placement key plus run and index). It holds a replica
/// and the whole training set, so that any ghost batch of any step can be handed to it.
/// </summary>
[Alias("Apex.Grains.Training.ITrainingWorkerGrain")]
public interface ITrainingWorkerGrain : IGrainWithStringKey
{
    /// <summary>Starts a worker for a run: the head's shape, the run's settings and how many rows will follow.</summary>
    [Alias("BeginAsync")]
    Task BeginAsync(WorkerSetup setup);

    /// <summary>The next rows of the training set, in order (song-mean features and labels).</summary>
    [Alias("AddRowsAsync")]
    Task AddRowsAsync(float[] features, float[] labels);

    /// <summary>Gradients of the given ghost batches at this state.</summary>
    [Alias("ComputeAsync")]
    [ResponseTimeout("00:10:00")]
    Task<IReadOnlyList<WorkerGhostGradient>> ComputeAsync(WorkerState state, IReadOnlyList<WorkerGhost> ghosts);
}

[GenerateSerializer]
[Alias("Apex.Grains.Training.WorkerSetup")]
public sealed record WorkerSetup(
    [property: Id(0)] int Layers,
    [property: Id(1)] int Hidden,
    [property: Id(2)] IReadOnlyList<string> Tasks,
    [property: Id(3)] int[] Trunk,
    [property: Id(4)] int BranchWidth,
    [property: Id(5)] double TrunkDropout,
    [property: Id(6)] double BranchDropout,
    [property: Id(7)] int Rows,
    [property: Id(8)] int Seed,
    [property: Id(9)] int GhostBatches,
    [property: Id(10)] string Loss,
    [property: Id(11)] string Precision);

/// <summary>One ghost batch of a step: its place in the step, its rows (indices into the training set) and its share of the step's rows.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Training.WorkerGhost")]
public sealed record WorkerGhost([property: Id(0)] int Ghost, [property: Id(1)] int[] Samples, [property: Id(2)] double Share);

[GenerateSerializer]
[Alias("Apex.Grains.Training.WorkerState")]
public sealed record WorkerState([property: Id(0)] long Step, [property: Id(1)] float[] Parameters, [property: Id(2)] float[] Buffers);

[GenerateSerializer]
[Alias("Apex.Grains.Training.WorkerGhostGradient")]
public sealed record WorkerGhostGradient(
    [property: Id(0)] int Ghost,
    [property: Id(1)] float[] Gradient,
    [property: Id(2)] float[] BatchStatistics,
    [property: Id(3)] double Loss,
    [property: Id(4)] int Samples,
    [property: Id(5)] string Silo);
