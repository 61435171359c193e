using Apex.Core.Encoders;
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
    /// <summary>
    /// Reads the dataset in row groups: the streams column first (for the stratified split), then the
    /// validation and test songs (and, in song mode, every song's mean embedding). In segment mode the
    /// training segments are never all in memory: they stream from the file each epoch. With
    /// <paramref name="init"/> (a checkpoint folder) the run fine-tunes that head, with its architecture
    /// and tasks, as the live trainer fine-tunes the serving model.
    /// </summary>
    public static async Task<TrainingResult> RunAsync(string datasetPath, string outputDirectory, TrainingOptions options, Device? device = null, string? label = null, Action<EpochReport>? progress = null, string? init = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var info = await ParquetDataset.ReadInfoAsync(datasetPath, cancellationToken);
        var (parent, parentManifest) = init is null ? (null, null) : HeadCheckpoint.Load(init);
        using var _ = parent;
        if (parentManifest is not null && EncoderIdentity.Mismatch(parentManifest.Encoder, info.Encoder) is { } mismatch)
        {
            throw new InvalidDataException($"The checkpoint to fine-tune does not fit this dataset: {mismatch}.");
        }

        var tasks = parent?.Architecture.Tasks ?? ApexTasks.ByName(options.TaskSet);
        var parts = await SplitParts.ReadAsync(datasetPath, info, options.Seed, options.Mode, trainInMemory: options.Mode == InputMode.Song, cancellationToken);
        var (split, trainRows, validationRows, testRows) = (parts.Split, parts.Train, parts.Validation, parts.Test);
        ISampleSource train = options.Mode == InputMode.Song
            ? TrainingSet.Build(trainRows, info, tasks, InputMode.Song)
            : new ParquetSampleSource(datasetPath, info, tasks, InputMode.Segment, split.Train.ToHashSet());
        var validation = TrainingSet.Build(validationRows, info, tasks, options.Mode);
        var test = TrainingSet.Build(testRows, info, tasks, options.Mode);
        var trained = await Trainer.TrainAsync(train, validation, options, new TrainingStart { Device = device, Init = parent, Epochs = progress }, cancellationToken);
        var metrics = Predictor.Evaluate(Predictor.PredictSongs(trained.Head, test, device: device), test);
        var manifest = new CheckpointManifest
        {
            Version = $"apex-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Condition.LetterOf(options)}",
            Label = label ?? (info.Description.StartsWith("SYNTHETIC", StringComparison.Ordinal) ? CheckpointManifest.SyntheticDemoLabel : null),
            Architecture = HeadCheckpoint.FromArchitecture(trained.Head.Architecture),
            InputMode = options.Mode.ToString().ToLowerInvariant(),
            Loss = options.Loss.ToString().ToLowerInvariant(),
            Batch = string.Create(CultureInfo.InvariantCulture, $"{options.GhostBatches} × {options.BatchSize}"),
            Precision = options.MixedOn((device ?? CPU).type == TorchSharp.DeviceType.CUDA) ? "mixed (bfloat16)" : "fp32",
            TaskWeights = options.Loss == LossStrategy.Uncertainty ? trained.Loss.TaskWeights() : null,
            DataSnapshot = DescribeData(datasetPath, parts.Rows),
            Parent = parentManifest?.Version,
            Encoder = info.Encoder,
            SplitSeed = options.Seed,
            BestEpoch = trained.BestEpoch,
            Split = SplitManifest.Of(parts, options.Seed),
            TestMetrics = MetricsManifest.Of(metrics),
            CreatedAt = DateTimeOffset.UtcNow,
        };
        HeadCheckpoint.Save(outputDirectory, trained.Head, manifest);
        return new TrainingResult(trained, manifest, metrics, split);
    }

    /// <summary>Identifies the data without hashing gigabytes: name, rows, size and write time.</summary>
    public static string DescribeData(string path, int rows)
    {
        var file = new FileInfo(path);
        return string.Create(CultureInfo.InvariantCulture, $"{file.Name};rows={rows};bytes={file.Length};modified={file.LastWriteTimeUtc:O}");
    }
}
