using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Torch;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>A trained head, its loss (with any learnt task weights) and how training went.</summary>
public sealed record TrainedHead(ApexHead Head, MultiTaskLoss Loss, int BestEpoch, double BestValidationLoss, IReadOnlyList<EpochReport> History);

/// <summary>
/// Trains an APEX head: AdamW, cosine annealing over the epochs, global batches in a seeded shuffle cut
/// into ghost batches, early stopping on the validation loss (the training objective on the validation
/// songs) with the best epoch's weights restored. Every step runs on data-parallel workers through
/// <see cref="DataParallelCoordinator"/>: by default one in this process, for the live trainer worker
/// grains on other silos; either way the same steps, so <c>apex train</c> and the live trainer give the
/// same weights on the same rows. Deterministic on CPU for a fixed seed.
/// </summary>
public static class Trainer
{
    public static TrainedHead Train(ISampleSource train, TrainingSet validation, TrainingOptions options, Device? device = null, Action<EpochReport>? progress = null, CancellationToken cancellationToken = default) =>
        // Synchronous underneath: the in-process worker completes every step before it returns.
        TrainAsync(train, validation, options, new TrainingStart { Device = device, Epochs = progress }, cancellationToken).GetAwaiter().GetResult();

    public static async Task<TrainedHead> TrainAsync(ISampleSource train, TrainingSet validation, TrainingOptions options, TrainingStart? start = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        start ??= new TrainingStart();
        var device = start.Device ?? CPU;
        var architecture = start.Init?.Architecture ?? new HeadArchitecture(train.Layers, train.Hidden, HeadArchitecture.TrunkOf(options.TrunkDepth), train.Tasks);
        if (!architecture.Tasks.Select(t => t.Name).SequenceEqual(train.Tasks.Select(t => t.Name)) || architecture.Layers != train.Layers || architecture.Hidden != train.Hidden)
        {
            throw new ArgumentException($"The head to fine-tune takes {architecture.Layers} × {architecture.Hidden} for [{string.Join(", ", architecture.Tasks.Select(t => t.Name))}]; the data has {train.Layers} × {train.Hidden} for [{string.Join(", ", train.Tasks.Select(t => t.Name))}].", nameof(train));
        }

        var replica = new Replica(architecture, options, device);
        try
        {
            if (start.Init is not null)
            {
                replica.LoadHead(start.Init);
            }

            var (bestEpoch, best, history) = await RunAsync(replica, train, validation, options, start, cancellationToken);
            replica.Head.eval();
            var (head, loss) = replica.Release();
            return new TrainedHead(head, loss, bestEpoch, best, history);
        }
        catch
        {
            replica.Dispose();
            throw;
        }
    }

    private static async Task<(int BestEpoch, double Best, List<EpochReport> History)> RunAsync(Replica replica, ISampleSource train, TrainingSet validation, TrainingOptions options, TrainingStart start, CancellationToken cancellationToken)
    {
        using var local = start.Workers is null ? LocalGradientWorker.Sharing(replica) : null;
        using var coordinator = new DataParallelCoordinator(replica, options, start.Workers ?? WorkerPool.Of(local!));
        var scheduler = optim.lr_scheduler.CosineAnnealingLR(coordinator.Optimizer, T_max: options.Epochs);
        var order = new Random(options.Seed);
        var history = new List<EpochReport>();
        var best = double.PositiveInfinity;
        var bestEpoch = 0;
        Dictionary<string, Tensor>? bestState = null;
        try
        {
            for (var epoch = 1; epoch <= options.Epochs; epoch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                double sum = 0;
                var steps = 0;
                foreach (var (rows, ghosts) in EpochSteps(train, options, order))
                {
                    var report = await coordinator.StepAsync(rows, ghosts, cancellationToken);
                    start.Steps?.Invoke(report);
                    sum += report.Loss;
                    steps++;
                }

                if (steps == 0)
                {
                    throw new ArgumentException("Training needs at least two samples.", nameof(train));
                }

                scheduler.step();
                var validationLoss = Loss(replica.Head, replica.Loss, validation, options.BatchSize, replica.Device);
                var improved = validationLoss < best;
                if (improved)
                {
                    best = validationLoss;
                    bestEpoch = epoch;
                    DisposeState(bestState);
                    bestState = Snapshot(replica.Head, replica.Loss);
                }

                var epochReport = new EpochReport(epoch, options.Epochs, sum / steps, validationLoss, improved, options.Loss == LossStrategy.Uncertainty ? replica.Loss.TaskWeights() : null);
                history.Add(epochReport);
                start.Epochs?.Invoke(epochReport);
                if (epoch - bestEpoch >= options.Patience)
                {
                    break;
                }
            }

            if (bestState is not null)
            {
                Restore(replica.Head, replica.Loss, bestState);
            }

            return (bestEpoch, best, history);
        }
        finally
        {
            DisposeState(bestState);
        }
    }

    /// <summary>
    /// One epoch's steps: global batches of <see cref="TrainingOptions.GhostBatches"/> ×
    /// <see cref="TrainingOptions.BatchSize"/> rows in a seeded shuffle, each cut into consecutive ghost
    /// batches (a ghost of one row is left out: BatchNorm needs two), each weighted by its share of the
    /// rows used. An in-memory set is indexed as it is; a streamed source's global batch becomes the
    /// step's own rows.
    /// </summary>
    private static IEnumerable<(TrainingSet Rows, IReadOnlyList<GhostPlan> Ghosts)> EpochSteps(ISampleSource train, TrainingOptions options, Random order)
    {
        var global = options.BatchSize * options.GhostBatches;
        if (train is TrainingSet set)
        {
            foreach (var samples in set.EpochOrder(global, order))
            {
                var ghosts = Plan(samples, options.BatchSize);
                if (ghosts.Count > 0)
                {
                    yield return (set, ghosts);
                }
            }

            yield break;
        }

        foreach (var batch in train.Epoch(global, order))
        {
            var ghosts = Plan([.. Enumerable.Range(0, batch.Count)], options.BatchSize);
            if (ghosts.Count > 0)
            {
                yield return (TrainingSet.FromArrays(train.Layers, train.Hidden, train.Tasks, batch.Features, batch.Labels), ghosts);
            }
        }
    }

    private static List<GhostPlan> Plan(int[] samples, int size)
    {
        var parts = samples.Chunk(size).Where(p => p.Length >= 2).ToList();
        var rows = parts.Sum(p => p.Length);
        return parts.Select((p, g) => new GhostPlan(g, p, (double)p.Length / rows)).ToList();
    }

    /// <summary>The loss over a whole set in evaluation mode (no dropout, BatchNorm running statistics).</summary>
    public static double Loss(ApexHead head, MultiTaskLoss loss, TrainingSet set, int batchSize, Device device)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(set);
        if (set.SampleCount == 0)
        {
            return double.NaN;
        }

        head.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        // One pass over all samples: the per-task MSE is over every labelled row, as on the training side.
        var predictions = new List<Tensor>();
        var targets = new List<Tensor>();
        var all = Enumerable.Range(0, set.SampleCount).ToArray();
        for (var start = 0; start < all.Length; start += batchSize)
        {
            var (x, y) = ToTensors(set.Batch(all.AsSpan(start, Math.Min(batchSize, all.Length - start))), set.Layers, set.Hidden, set.Tasks.Count, device);
            predictions.Add(head.call(x));
            targets.Add(y);
        }

        return loss.call(cat(predictions, 0), cat(targets, 0)).item<float>();
    }

    internal static (Tensor Features, Tensor Labels) ToTensors(SampleBatch batch, int layers, int hidden, int tasks, Device device) =>
        (OwnedTensors.Of(batch.Features, [batch.Count, layers, hidden], device), OwnedTensors.Of(batch.Labels, [batch.Count, tasks], device));

    // The loss is part of the state: under uncertainty weighting its log-variances are learnt too.
    private static Dictionary<string, Tensor> Snapshot(ApexHead head, MultiTaskLoss loss)
    {
        using var scope = NewDisposeScope();
        return head.state_dict().Select(kv => ("head." + kv.Key, kv.Value))
            .Concat(loss.state_dict().Select(kv => ("loss." + kv.Key, kv.Value)))
            .ToDictionary(kv => kv.Item1, kv => kv.Item2.detach().clone().DetachFromDisposeScope());
    }

    private static void Restore(ApexHead head, MultiTaskLoss loss, Dictionary<string, Tensor> state)
    {
        head.load_state_dict(Part(state, "head."));
        loss.load_state_dict(Part(state, "loss."));
    }

    private static Dictionary<string, Tensor> Part(Dictionary<string, Tensor> state, string prefix) =>
        state.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);

    private static void DisposeState(Dictionary<string, Tensor>? state)
    {
        foreach (var t in state?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}
