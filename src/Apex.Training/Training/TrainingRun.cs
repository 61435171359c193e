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
        var data = await LoadedDataset.LoadAsync(datasetPath, cancellationToken);
        return Run(data, outputDirectory, options, device, label, progress, cancellationToken);
    }

    /// <summary>Trains on an already loaded dataset (the ablation loads it once for all 24 conditions).</summary>
    public static TrainingResult Run(LoadedDataset data, string outputDirectory, TrainingOptions options, Device? device = null, string? label = null, Action<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rows = data.Rows;
        var tasks = ApexTasks.ByName(options.TaskSet);
        var split = DatasetSplit.Stratified(rows.Select(r => r.Streams).ToList(), options.Seed);
        TrainingSet Part(int[] songs) => TrainingSet.Build(songs.Select(i => rows[i]).ToList(), data.Info, tasks, options.Mode);
        var (train, validation, test) = (Part(split.Train), Part(split.Validation), Part(split.Test));

        var trained = Trainer.Train(train, validation, options, device, progress, cancellationToken);
        var metrics = Predictor.Evaluate(Predictor.PredictSongs(trained.Head, test, device: device), test);
        var manifest = new CheckpointManifest
        {
            Version = $"apex-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Condition.LetterOf(options)}",
            Label = label ?? (data.Info.Description.StartsWith("SYNTHETIC", StringComparison.Ordinal) ? "synthetic-demo" : null),
            Architecture = HeadCheckpoint.FromArchitecture(trained.Head.Architecture),
            InputMode = options.Mode.ToString().ToLowerInvariant(),
            Loss = options.Loss.ToString().ToLowerInvariant(),
            TaskWeights = options.Loss == LossStrategy.Uncertainty ? trained.Loss.TaskWeights() : null,
            DataSnapshot = data.Snapshot,
            SplitSeed = options.Seed,
            BestEpoch = trained.BestEpoch,
            TestMetrics = metrics.ToDictionary(m => m.Task, m => new MetricsManifest(m.Report.Count, m.Report.Mse, m.Report.Mae, m.Report.Pearson, m.Report.Spearman)),
            CreatedAt = DateTimeOffset.UtcNow,
        };
        HeadCheckpoint.Save(outputDirectory, trained.Head, manifest);
        return new TrainingResult(trained, manifest, metrics, split);
    }
}
