namespace Apex.Training.Distributed;

/// <summary>
/// Where a run's workers come from: <c>start(attempt)</c> places a fresh set (attempt 0 first). A step
/// that fails on a worker is retried from the same state on a fresh set, at most
/// <paramref name="maxRetries"/> times over the run.
/// </summary>
public sealed class WorkerPool(Func<int, CancellationToken, Task<IReadOnlyList<IGradientWorker>>> start, int maxRetries = 0, Action<long, int, Exception>? retried = null)
{
    private IReadOnlyList<IGradientWorker>? _workers;

    /// <summary>Steps retried so far.</summary>
    public int Retries { get; private set; }

    /// <summary>A fixed set of workers, never replaced.</summary>
    public static WorkerPool Of(params IGradientWorker[] workers) =>
        new((_, _) => Task.FromResult<IReadOnlyList<IGradientWorker>>(workers));

    /// <summary>
    /// The ghosts' gradients in ghost order, the ghosts handed out in contiguous runs (worker k takes the
    /// k-th run). Which worker computes a ghost does not change its gradient: every ghost starts from the
    /// same state with its own seed.
    /// </summary>
    public async Task<List<GhostGradient>> ComputeAsync(StepInput input, IReadOnlyList<GhostPlan> ghosts, CancellationToken cancellationToken)
    {
        while (true)
        {
            _workers ??= await start(Retries, cancellationToken);
            if (_workers.Count == 0)
            {
                throw new InvalidOperationException("A training run needs at least one worker.");
            }

            try
            {
                var per = (int)Math.Ceiling(ghosts.Count / (double)_workers.Count);
                var results = await Task.WhenAll(ghosts.Chunk(per).Select((part, k) => _workers[k].ComputeAsync(input, part, cancellationToken)));
                var gradients = results.SelectMany(r => r).OrderBy(g => g.Ghost).ToList();
                if (!gradients.Select(g => g.Ghost).SequenceEqual(ghosts.Select(g => g.Ghost)))
                {
                    throw new InvalidOperationException($"{gradients.Count} ghost gradients came back for {ghosts.Count} ghost batches.");
                }

                return gradients;
            }
            catch (Exception ex) when (ex is not (OutOfMemoryException or OperationCanceledException) && Retries < maxRetries)
            {
                Retries++;
                retried?.Invoke(input.Step, Retries, ex);
                _workers = null;
            }
        }
    }
}
