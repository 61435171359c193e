using Apex.Training.Checkpoints;
using Apex.Training.Data;

namespace Apex.Training.Training;

/// <summary>Predicted-vs-actual scatter plots (PNG, ScottPlot) of one model on its test split, one per task.</summary>
public static class AblationPlots
{
    public static async Task<IReadOnlyList<string>> WriteAsync(string datasetPath, string checkpoint, string name, string folder, CancellationToken cancellationToken = default)
    {
        var (head, manifest) = HeadCheckpoint.Load(checkpoint);
        var info = await ParquetDataset.ReadInfoAsync(datasetPath, cancellationToken);
        var mode = Enum.Parse<InputMode>(manifest.InputMode, ignoreCase: true);
        var parts = await SplitParts.ReadAsync(datasetPath, info, manifest.SplitSeed, mode, trainInMemory: false, cancellationToken);
        var test = TrainingSet.Build(parts.Test, info, head.Architecture.Tasks, mode);
        var predictions = Predictor.PredictSongs(head, test);
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        var tasks = test.Tasks.Count;
        for (var t = 0; t < tasks; t++)
        {
            var actual = new List<double>();
            var predicted = new List<double>();
            for (var s = 0; s < test.SongCount; s++)
            {
                var label = test.SongLabels[s * tasks + t];
                if (!float.IsNaN(label))
                {
                    actual.Add(label);
                    predicted.Add(predictions[s * tasks + t]);
                }
            }

            var task = test.Tasks[t];
            var plot = new ScottPlot.Plot();
            plot.Add.ScatterPoints(actual.ToArray(), predicted.ToArray());
            var diagonal = plot.Add.Line(task.Low, task.Low, task.Low + task.Span, task.Low + task.Span);
            diagonal.LinePattern = ScottPlot.LinePattern.Dashed;
            plot.Title($"{name}: {task.Name} on the test split ({actual.Count} songs)");
            plot.XLabel($"actual {task.Name}");
            plot.YLabel($"predicted {task.Name}");
            plot.Axes.SetLimits(task.Low, task.Low + task.Span, task.Low, task.Low + task.Span);
            var file = Path.Combine(folder, $"{name}-{task.Name}.png");
            plot.SavePng(file, 640, 480);
            files.Add(file);
        }

        head.Dispose();
        return files;
    }
}
