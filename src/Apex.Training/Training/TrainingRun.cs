using System.Globalization;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Model;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>What a finished run produced.</summary>
public sealed record TrainingResult(TrainedHead Trained, CheckpointManifest Manifest, IReadOnlyList<TaskMetrics> TestMetrics, DatasetSplit Split);

/// <summary>Dataset file → split → train → test metrics → checkpoint: what <c>apex train</c> does.</summary>
public static class TrainingRun
{
    public static async Task<TrainingResult> RunAsync(string datasetPath, string outputDirectory, TrainingOptions options, Device? device = null, string? label = null, Action<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var info = await ParquetDataset.ReadInfoAsync(datasetPath, cancellationToken);
        var rows = await ParquetDataset.ReadAllAsync(datasetPath, cancellationToken);
        var tasks = ApexTasks.ByName(options.TaskSet);
        var split = DatasetSplit.Stratified(rows.Select(r => r.Streams).ToList(), options.Seed);
        TrainingSet Part(int[] songs) => TrainingSet.Build(songs.Select(i => rows[i]).ToList(), info, tasks, options.Mode);
        var (train, validation, test) = (Part(split.Train), Part(split.Validation), Part(split.Test));

        var trained = Trainer.Train(train, validation, options, device, progress, cancellationToken);
        var metrics = Predictor.Evaluate(Predictor.PredictSongs(trained.Head, test, device: device), test);
        var manifest = new CheckpointManifest
        {
            Version = $"apex-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Condition.LetterOf(options)}",
            Label = label ?? (info.Description.StartsWith("SYNTHETIC", StringComparison.Ordinal) ? "synthetic-demo" : null),
            Architecture = HeadCheckpoint.FromArchitecture(trained.Head.Architecture),
            InputMode = options.Mode.ToString().ToLowerInvariant(),
            Loss = options.Loss.ToString().ToLowerInvariant(),
            TaskWeights = options.Loss == LossStrategy.Uncertainty ? trained.Loss.TaskWeights() : null,
            DataSnapshot = Snapshot(datasetPath, rows.Count),
            SplitSeed = options.Seed,
            BestEpoch = trained.BestEpoch,
            TestMetrics = metrics.ToDictionary(m => m.Task, m => new MetricsManifest(m.Report.Count, m.Report.Mse, m.Report.Mae, m.Report.Pearson, m.Report.Spearman)),
            CreatedAt = DateTimeOffset.UtcNow,
        };
        HeadCheckpoint.Save(outputDirectory, trained.Head, manifest);
        return new TrainingResult(trained, manifest, metrics, split);
    }

    /// <summary>Identifies the data a model saw without hashing gigabytes: name, rows, size and write time.</summary>
    private static string Snapshot(string path, int rows)
    {
        var file = new FileInfo(path);
        return string.Create(CultureInfo.InvariantCulture, $"{file.Name};rows={rows};bytes={file.Length};modified={file.LastWriteTimeUtc:O}");
    }
}
