using Apex.Core.Metrics;
using Apex.Training.Data;
using Apex.Training.Model;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>Per-task metrics over the songs that have that label.</summary>
public sealed record TaskMetrics(string Task, RegressionReport Report);

public static class Predictor
{
    /// <summary>
    /// Predictions per song, [songs, tasks]: the head's output in song mode, the mean of the song's
    /// segment predictions in segment mode.
    /// </summary>
    public static float[] PredictSongs(ApexHead head, TrainingSet set, int batchSize = 1024, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(set);
        device ??= CPU;
        head.eval();
        var tasks = set.Tasks.Count;
        var sums = new double[set.SongCount * tasks];
        var counts = new int[set.SongCount];
        var all = Enumerable.Range(0, set.SampleCount).ToArray();
        using var _ = no_grad();
        for (var start = 0; start < all.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var samples = all.AsSpan(start, Math.Min(batchSize, all.Length - start));
            var (x, _) = Trainer.ToTensors(set.Batch(samples), set.Layers, set.Hidden, tasks, device);
            var output = head.call(x).cpu().data<float>().ToArray();
            for (var i = 0; i < samples.Length; i++)
            {
                var song = set.SongOfSample[samples[i]];
                counts[song]++;
                for (var t = 0; t < tasks; t++)
                {
                    sums[song * tasks + t] += output[i * tasks + t];
                }
            }
        }

        var predictions = new float[sums.Length];
        for (var i = 0; i < sums.Length; i++)
        {
            predictions[i] = (float)(sums[i] / Math.Max(1, counts[i / tasks]));
        }

        return predictions;
    }

    /// <summary>MSE, MAE, Pearson and Spearman per task, over the songs labelled for it.</summary>
    public static IReadOnlyList<TaskMetrics> Evaluate(float[] predictions, TrainingSet set)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(set);
        var tasks = set.Tasks.Count;
        var metrics = new List<TaskMetrics>();
        for (var t = 0; t < tasks; t++)
        {
            var predicted = new List<double>();
            var actual = new List<double>();
            for (var s = 0; s < set.SongCount; s++)
            {
                var label = set.SongLabels[s * tasks + t];
                if (!float.IsNaN(label))
                {
                    predicted.Add(predictions[s * tasks + t]);
                    actual.Add(label);
                }
            }

            if (predicted.Count > 1)
            {
                metrics.Add(new TaskMetrics(set.Tasks[t].Name, RegressionMetrics.Report(predicted.ToArray(), actual.ToArray())));
            }
        }

        return metrics;
    }
}
