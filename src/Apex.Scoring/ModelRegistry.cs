using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Training;

namespace Apex.Scoring;

/// <summary>
/// Head checkpoints in a folder shared by the silos: <c>{folder}/{version}/</c> (manifest + weights) and
/// <c>{folder}/SERVING</c>, the version the cluster serves (replaced by rename, so a reader sees the old
/// or the new name, never half of one).
/// </summary>
public sealed class ModelRegistry(string folder)
{
    public const string ServingFile = "SERVING";

    public string Folder { get; } = Path.GetFullPath(folder);

    /// <summary>The serving version's folder, or null when nothing is published yet.</summary>
    public string? ServingDirectory()
    {
        var pointer = Path.Combine(Folder, ServingFile);
        if (!File.Exists(pointer))
        {
            return null;
        }

        var version = File.ReadAllText(pointer).Trim();
        return version.Length == 0 ? null : Path.Combine(Folder, version);
    }

    /// <summary>Makes <paramref name="version"/> (a folder in the registry) the serving one.</summary>
    public void Serve(string version)
    {
        if (!File.Exists(Path.Combine(Folder, version, HeadCheckpoint.ManifestFile)))
        {
            throw new InvalidDataException($"{version} is not a checkpoint in {Folder}.");
        }

        var staging = Path.Combine(Folder, ServingFile + ".new");
        File.WriteAllText(staging, version);
        File.Move(staging, Path.Combine(Folder, ServingFile), overwrite: true);
    }

    /// <summary>
    /// The local profile's stand-in until a user trains on real labels: when nothing serves yet, trains a
    /// head on the synthetic dataset (planted signal, no real engagement; about ten seconds on a CPU),
    /// labelled <c>synthetic-demo</c> wherever its scores appear, and serves it. Returns the serving folder.
    /// </summary>
    public async Task<string> EnsureServingAsync(int layers, int hidden, CancellationToken cancellationToken = default)
    {
        if (ServingDirectory() is { } serving && Directory.Exists(serving))
        {
            return serving;
        }

        Directory.CreateDirectory(Folder);
        var work = Directory.CreateTempSubdirectory("apex-synthetic-demo-").FullName;
        try
        {
            var data = new SyntheticDataset(2_000, Seed: 42, layers, hidden);
            var dataset = Path.Combine(work, "synthetic.parquet");
            await ParquetDataset.WriteAsync(dataset, data.Rows(), data.Info, cancellationToken: cancellationToken);
            var staged = Path.Combine(work, "model");
            var result = await TrainingRun.RunAsync(dataset, staged, new TrainingOptions { Epochs = 15 }, label: "synthetic-demo", cancellationToken: cancellationToken);
            var version = result.Manifest.Version;
            var target = Path.Combine(Folder, version);
            if (!Directory.Exists(target))
            {
                HeadCheckpoint.Save(target, HeadCheckpoint.Load(staged).Head, result.Manifest);
            }

            Serve(version);
            return target;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
