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

    public const string HistoryFile = "history.log";

    /// <summary>The serving version's name, or null.</summary>
    public string? ServingVersion() => ServingDirectory() is { } d ? Path.GetFileName(d) : null;

    /// <summary>Makes <paramref name="version"/> (a folder in the registry) the serving one, and notes it in the history.</summary>
    public void Serve(string version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        if (version.Contains('/', StringComparison.Ordinal) || version.Contains("..", StringComparison.Ordinal) || !File.Exists(Path.Combine(Folder, version, HeadCheckpoint.ManifestFile)))
        {
            throw new InvalidDataException($"{version} is not a checkpoint in the model registry.");
        }

        // A registry that served a version before it kept a history notes that version first, so it can be rolled back to.
        if (History().Count == 0 && ServingVersion() is { } current && current != version)
        {
            File.AppendAllText(Path.Combine(Folder, HistoryFile), $"{DateTimeOffset.UtcNow:O} {current}\n");
        }

        var staging = Path.Combine(Folder, ServingFile + ".new");
        File.WriteAllText(staging, version);
        File.Move(staging, Path.Combine(Folder, ServingFile), overwrite: true);
        File.AppendAllText(Path.Combine(Folder, HistoryFile), $"{DateTimeOffset.UtcNow:O} {version}\n");
    }

    /// <summary>Versions served so far, oldest first (a version served twice appears twice).</summary>
    public IReadOnlyList<(DateTimeOffset At, string Version)> History()
    {
        var path = Path.Combine(Folder, HistoryFile);
        return File.Exists(path)
            ? File.ReadAllLines(path).Select(l => l.Split(' ', 2)).Where(p => p.Length == 2)
                .Select(p => (DateTimeOffset.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), p[1])).ToList()
            : [];
    }

    /// <summary>Every checkpoint in the registry with its status: serving, retired (served before) or candidate (never served).</summary>
    public IReadOnlyList<(CheckpointManifest Manifest, string Status)> Versions()
    {
        if (!Directory.Exists(Folder))
        {
            return [];
        }

        var serving = ServingVersion();
        var served = History().Select(h => h.Version).ToHashSet(StringComparer.Ordinal);
        return Directory.GetDirectories(Folder)
            .Where(d => File.Exists(Path.Combine(d, HeadCheckpoint.ManifestFile)))
            .Select(d => System.Text.Json.JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(Path.Combine(d, HeadCheckpoint.ManifestFile)))!)
            .Select(m => (m, m.Version == serving ? "serving" : served.Contains(m.Version) ? "retired" : "candidate"))
            .OrderByDescending(v => v.m.CreatedAt)
            .ToList();
    }

    /// <summary>Serves the version served before the current one; answers it, or null when there is none.</summary>
    public string? Rollback()
    {
        var serving = ServingVersion();
        var previous = History().Select(h => h.Version).Where(v => v != serving).LastOrDefault();
        if (previous is not null)
        {
            Serve(previous);
        }

        return previous;
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
            var result = await TrainingRun.RunAsync(dataset, staged, new TrainingOptions { Epochs = 15 }, label: CheckpointManifest.SyntheticDemoLabel, cancellationToken: cancellationToken);
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
