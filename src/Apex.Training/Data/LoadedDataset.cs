using System.Globalization;

namespace Apex.Training.Data;

/// <summary>A dataset read into memory, with an identifier of the data for model manifests.</summary>
public sealed record LoadedDataset(IReadOnlyList<SongRow> Rows, DatasetInfo Info, string Snapshot)
{
    public static async Task<LoadedDataset> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        var info = await ParquetDataset.ReadInfoAsync(path, cancellationToken);
        var rows = await ParquetDataset.ReadAllAsync(path, cancellationToken);
        return new LoadedDataset(rows, info, SnapshotOf(path, rows.Count));
    }

    /// <summary>Identifies the data without hashing gigabytes: name, rows, size and write time.</summary>
    private static string SnapshotOf(string path, int rows)
    {
        var file = new FileInfo(path);
        return string.Create(CultureInfo.InvariantCulture, $"{file.Name};rows={rows};bytes={file.Length};modified={file.LastWriteTimeUtc:O}");
    }
}
