using Apex.Training.Data;
using Apex.Training.Model;
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
    public static TrainedHead Train(TrainingSet train, TrainingSet validation, TrainingOptions options, Device? device = null, Action<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        device ??= CPU;
        if (train.SampleCount < 2)
        {
            throw new ArgumentException("Training needs at least two samples.", nameof(train));
        }

        random.manual_seed(options.Seed);
        var architecture = new HeadArchitecture(train.Layers, train.Hidden, HeadArchitecture.TrunkOf(options.TrunkDepth), train.Tasks);
        var head = new ApexHead(architecture);
        var loss = new MultiTaskLoss(options.Loss, train.Tasks);
        head.to(device);
        loss.to(device);
        var parameters = head.parameters().Concat(loss.parameters().Where(p => p.requires_grad));
        using var optimizer = optim.AdamW(parameters, lr: options.LearningRate, weight_decay: options.WeightDecay);
        var scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max: options.Epochs);

        var order = new Random(options.Seed);
        var indices = Enumerable.Range(0, train.SampleCount).ToArray();
        var history = new List<EpochReport>();
        var best = double.PositiveInfinity;
        var bestEpoch = 0;
        Dictionary<string, Tensor>? bestState = null;
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            order.Shuffle(indices);
            head.train();
            double sum = 0;
            var batches = 0;
            for (var start = 0; start < indices.Length; start += options.BatchSize)
            {
                var count = Math.Min(options.BatchSize, indices.Length - start);
                if (count < 2)
                {
                    continue; // BatchNorm cannot train on a single row
                }

                using var scope = NewDisposeScope();
                var (x, y) = Batch(train, indices.AsSpan(start, count), device);
                optimizer.zero_grad();
                var value = loss.call(head.call(x), y);
                value.backward();
                optimizer.step();
                sum += value.item<float>();
                batches++;
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
            var (x, y) = Batch(set, all.AsSpan(start, Math.Min(batchSize, all.Length - start)), device);
            predictions.Add(head.call(x));
            targets.Add(y);
        }

        return loss.call(cat(predictions, 0), cat(targets, 0)).item<float>();
    }

    internal static (Tensor Features, Tensor Labels) Batch(TrainingSet set, ReadOnlySpan<int> samples, Device device)
    {
        var width = set.Width;
        var tasks = set.Tasks.Count;
        var features = new float[samples.Length * width];
        var labels = new float[samples.Length * tasks];
        for (var i = 0; i < samples.Length; i++)
        {
            set.Features.AsSpan((int)((long)samples[i] * width), width).CopyTo(features.AsSpan(i * width));
            set.LabelsOf(samples[i]).CopyTo(labels.AsSpan(i * tasks));
        }

        return (tensor(features, [samples.Length, set.Layers, set.Hidden], device: device), tensor(labels, [samples.Length, tasks], device: device));
    }

    // The loss is part of the state: under uncertainty weighting its log-variances are learnt too.
    private static Dictionary<string, Tensor> Snapshot(ApexHead head, MultiTaskLoss loss) =>
        head.state_dict().Select(kv => ("head." + kv.Key, kv.Value))
            .Concat(loss.state_dict().Select(kv => ("loss." + kv.Key, kv.Value)))
            .ToDictionary(kv => kv.Item1, kv => kv.Item2.detach().clone());

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
