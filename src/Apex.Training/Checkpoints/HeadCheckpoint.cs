using System.Text.Json;
using Apex.Training.Model;
using TorchSharp.PyBridge;

namespace Apex.Training.Checkpoints;

/// <summary>
/// A head on disk: <c>model.safetensors</c> (weights and BatchNorm statistics, readable from Python's
/// safetensors too) and <c>manifest.json</c>. Saving writes to a temporary folder and renames it, so a
/// reader never sees half a checkpoint.
/// </summary>
public static class HeadCheckpoint
{
    public const string WeightsFile = "model.safetensors";
    public const string ManifestFile = "manifest.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Saves the head and its manifest; files in <paramref name="alongside"/> move into the checkpoint under their own names (e.g. its data snapshot).</summary>
    public static void Save(string directory, ApexHead head, CheckpointManifest manifest, IReadOnlyList<string>? alongside = null)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(manifest);
        var full = Path.GetFullPath(directory);
        var staging = full + ".saving";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(staging);
        head.save_safetensors(Path.Combine(staging, WeightsFile));
        File.WriteAllText(Path.Combine(staging, ManifestFile), JsonSerializer.Serialize(manifest, Json));
        foreach (var file in alongside ?? [])
        {
            File.Move(file, Path.Combine(staging, Path.GetFileName(file)));
        }

        // On the disk before it is in place: a crash never leaves a checkpoint whose files are empty or torn.
        foreach (var file in Directory.GetFiles(staging))
        {
            Apex.Core.Files.DurableFiles.SyncFile(file);
        }

        Apex.Core.Files.DurableFiles.SyncFolder(staging);
        if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }

        Directory.Move(staging, full);
        Apex.Core.Files.DurableFiles.SyncFolder(Path.GetDirectoryName(full)!);
    }

    public static (ApexHead Head, CheckpointManifest Manifest) Load(string directory)
    {
        var manifestPath = Path.Combine(directory, ManifestFile);
        var weightsPath = Path.Combine(directory, WeightsFile);
        if (!File.Exists(manifestPath) || !File.Exists(weightsPath))
        {
            throw new InvalidDataException($"{directory}: not a head checkpoint (needs {ManifestFile} and {WeightsFile}).");
        }

        CheckpointManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(manifestPath))
                ?? throw new InvalidDataException($"{manifestPath}: empty manifest.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{manifestPath}: invalid manifest ({ex.Message}).", ex);
        }

        ApexHead head;
        lock (Torch.TorchRandom.Gate)
        {
            // Its initial weights draw from libtorch's shared generator (then the file replaces them).
            head = new ApexHead(ToArchitecture(manifest.Architecture));
        }

        head.load_safetensors(weightsPath, strict: true);
        head.eval();
        return (head, manifest);
    }

    public static ArchitectureManifest FromArchitecture(HeadArchitecture a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return new(a.Layers, a.Hidden, a.Trunk, a.BranchWidth, a.TrunkDropout, a.BranchDropout, a.Tasks.Select(t => new TaskManifest(t.Name, t.Kind.ToString().ToLowerInvariant())).ToList());
    }

    public static HeadArchitecture ToArchitecture(ArchitectureManifest a)
    {
        ArgumentNullException.ThrowIfNull(a);
        var tasks = a.Tasks.Select(t => new ApexTask(t.Name, Enum.Parse<TaskKind>(t.Kind, ignoreCase: true))).ToList();
        return new HeadArchitecture(a.Layers, a.Hidden, a.Trunk, tasks, a.BranchWidth, a.TrunkDropout, a.BranchDropout);
    }
}
