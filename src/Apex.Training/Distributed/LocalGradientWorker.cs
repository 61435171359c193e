using Apex.Training.Model;
using Apex.Training.Training;
using static TorchSharp.torch;

namespace Apex.Training.Distributed;

/// <summary>
/// A worker in this process. One with a replica of its own takes the state each step (what a worker on
/// another silo does); one sharing the coordinator's replica computes on it directly (one process, one
/// worker: nothing to copy). Both run <see cref="Replica.Compute"/>, so they give the same gradients.
/// </summary>
public sealed class LocalGradientWorker : IGradientWorker, IDisposable
{
    private readonly Replica _replica;
    private readonly bool _shared;

    public LocalGradientWorker(HeadArchitecture architecture, TrainingOptions options, Device? device = null)
        : this(new Replica(architecture, options, device), shared: false)
    {
    }

    private LocalGradientWorker(Replica replica, bool shared)
    {
        _replica = replica;
        _shared = shared;
    }

    /// <summary>A worker on the coordinator's own replica (it must not outlive it).</summary>
    public static LocalGradientWorker Sharing(Replica replica) => new(replica ?? throw new ArgumentNullException(nameof(replica)), shared: true);

    public Task<IReadOnlyList<GhostGradient>> ComputeAsync(StepInput input, IReadOnlyList<GhostPlan> ghosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(ghosts);
        if (!_shared)
        {
            _replica.Load(input.State);
        }

        var gradients = new List<GhostGradient>(ghosts.Count);
        foreach (var ghost in ghosts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            gradients.Add(_replica.Compute(input.Rows, ghost, input.Step));
        }

        return Task.FromResult<IReadOnlyList<GhostGradient>>(gradients);
    }

    public void Dispose()
    {
        if (!_shared)
        {
            _replica.Dispose();
        }
    }
}
