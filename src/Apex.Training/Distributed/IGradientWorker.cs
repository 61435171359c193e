using Apex.Training.Data;

namespace Apex.Training.Distributed;

/// <summary>A worker of a data-parallel run: takes the state, computes the gradients of the ghost batches it is given.</summary>
public interface IGradientWorker
{
    Task<IReadOnlyList<GhostGradient>> ComputeAsync(StepInput input, IReadOnlyList<GhostPlan> ghosts, CancellationToken cancellationToken = default);
}

/// <summary>
/// A step's input: its number, the rows its ghost plans index (the whole training set, or for a streamed
/// source the step's own rows), and the state, made only when a worker with a replica of its own asks.
/// </summary>
public sealed class StepInput(long step, TrainingSet rows, Func<ReplicaState> state)
{
    private readonly Lazy<ReplicaState> _state = new(state);

    public long Step => step;

    public TrainingSet Rows => rows;

    public ReplicaState State => _state.Value;
}
