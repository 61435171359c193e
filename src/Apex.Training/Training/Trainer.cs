using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>A trained head, its loss (with any learnt task weights) and how training went.</summary>
public sealed record TrainedHead(ApexHead Head, MultiTaskLoss Loss, int BestEpoch, double BestValidationLoss, IReadOnlyList<EpochReport> History);

/// <summary>
/// Trains an APEX head: AdamW, cosine annealing over the epochs, mini-batches in a seeded shuffle,
/// early stopping on the validation loss (the training objective on the validation songs) with the
/// best epoch's weights restored. Deterministic on CPU for a fixed seed.
/// </summary>
public static class Trainer
{
    public static TrainedHead Train(ISampleSource train, TrainingSet validation, TrainingOptions options, Device? device = null, Action<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        device ??= CPU;

        random.manual_seed(options.Seed);
        var architecture = new HeadArchitecture(train.Layers, train.Hidden, HeadArchitecture.TrunkOf(options.TrunkDepth), train.Tasks);
        var head = new ApexHead(architecture);
        var loss = new MultiTaskLoss(options.Loss, train.Tasks);
        head.to(device);
        loss.to(device);
        var parameters = head.parameters().Concat(loss.parameters().Where(p => p.requires_grad));
        using var low = options.MixedOn(device.type == DeviceType.CUDA) ? new LowPrecisionCopy(head, architecture, device) : null;
        using var optimizer = new HeldScalarAdamW(parameters, options.LearningRate, options.WeightDecay);
        var scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max: options.Epochs);

        var order = new Random(options.Seed);
        var history = new List<EpochReport>();
        var best = double.PositiveInfinity;
        var bestEpoch = 0;
        Dictionary<string, Tensor>? bestState = null;
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            head.train();
            double sum = 0;
            var batches = 0;
            foreach (var global in train.Epoch(options.BatchSize * options.GhostBatches, order))
            {
                // Ghost batches: BatchNorm normalises each BatchSize rows on their own; the gradients of
                // the ghosts, each weighted by its share of rows, add up to one step over the global batch.
                var ghosts = Ghosts(global, options.BatchSize, train.Layers * train.Hidden, train.Tasks.Count).Where(g => g.Count >= 2).ToList(); // BatchNorm needs two rows
                var rows = ghosts.Sum(g => g.Count);
                if (rows == 0)
                {
                    continue;
                }

                optimizer.zero_grad();
                low?.Begin();
                double stepLoss = 0;
                foreach (var ghost in ghosts)
                {
                    using var scope = NewDisposeScope();
                    var (x, y) = ToTensors(ghost, train.Layers, train.Hidden, train.Tasks.Count, device);
                    var value = loss.call(low is null ? head.call(x) : low.Forward(x), y);
                    using var share = ((double)ghost.Count / rows).ToScalar();
                    value.mul(share).backward();
                    stepLoss += value.item<float>() * ghost.Count / rows;
                }

                low?.End();
                optimizer.step();
                sum += stepLoss;
                batches++;
            }

            if (batches == 0)
            {
                throw new ArgumentException("Training needs at least two samples.", nameof(train));
            }

            scheduler.step();
            var validationLoss = Loss(head, loss, validation, options.BatchSize, device);
            var improved = validationLoss < best;
            if (improved)
            {
                best = validationLoss;
                bestEpoch = epoch;
                DisposeState(bestState);
                bestState = Snapshot(head, loss);
            }

            var report = new EpochReport(epoch, options.Epochs, sum / Math.Max(1, batches), validationLoss, improved, options.Loss == LossStrategy.Uncertainty ? loss.TaskWeights() : null);
            history.Add(report);
            progress?.Invoke(report);
            if (epoch - bestEpoch >= options.Patience)
            {
                break;
            }
        }

        if (bestState is not null)
        {
            Restore(head, loss, bestState);
            DisposeState(bestState);
        }

        head.eval();
        return new TrainedHead(head, loss, bestEpoch, best, history);
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

    /// <summary>A batch cut into consecutive ghost batches of at most <paramref name="size"/> rows.</summary>
    private static IEnumerable<SampleBatch> Ghosts(SampleBatch batch, int size, int featureWidth, int labelWidth)
    {
        for (var start = 0; start < batch.Count; start += size)
        {
            var count = Math.Min(size, batch.Count - start);
            yield return count == batch.Count
                ? batch
                : new SampleBatch(batch.Features.AsSpan(start * featureWidth, count * featureWidth).ToArray(), batch.Labels.AsSpan(start * labelWidth, count * labelWidth).ToArray(), count);
        }
    }

    internal static (Tensor Features, Tensor Labels) ToTensors(SampleBatch batch, int layers, int hidden, int tasks, Device device) =>
        (tensor(batch.Features, [batch.Count, layers, hidden], device: device), tensor(batch.Labels, [batch.Count, tasks], device: device));

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
