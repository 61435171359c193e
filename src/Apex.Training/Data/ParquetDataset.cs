using System.Globalization;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Serialization;

namespace Apex.Training.Data;

/// <summary>
/// Reads and writes APEX datasets as Parquet in row groups, so a reader holds one group at a time
/// instead of the whole set (211,000 songs × segments × 4 × 768 floats do not fit in memory).
/// </summary>
public static class ParquetDataset
{
    public const int DefaultRowGroupSize = 2_048;

    public static async Task WriteAsync(string path, IEnumerable<SongRow> rows, DatasetInfo info, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(info);
        var metadata = new Dictionary<string, string>
        {
            [DatasetInfo.LayersKey] = info.Layers.ToString(CultureInfo.InvariantCulture),
            [DatasetInfo.HiddenKey] = info.Hidden.ToString(CultureInfo.InvariantCulture),
            [DatasetInfo.DescriptionKey] = info.Description,
        };
        var temp = path + ".tmp";
        await using (var stream = File.Create(temp))
        {
            var first = true;
            foreach (var chunk in rows.Chunk(rowGroupSize))
            {
                foreach (var row in chunk)
                {
                    Check(row, info);
                }

                await ParquetSerializer.SerializeAsync(chunk, stream, new ParquetOptions { Append = !first, RowGroupSize = rowGroupSize }, metadata, cancellationToken);
                first = false;
            }

            if (first)
            {
                await ParquetSerializer.SerializeAsync(Array.Empty<SongRow>(), stream, new ParquetOptions(), metadata, cancellationToken);
            }
        }

        // Whole file or nothing: a crash mid-write never leaves a truncated dataset under the real name.
        File.Move(temp, path, overwrite: true);
    }

    public static async Task<DatasetInfo> ReadInfoAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var reader = await OpenAsync(path, cancellationToken);
        return InfoOf(reader, path);
    }

    /// <summary>The rows, one row group at a time.</summary>
    public static async IAsyncEnumerable<IList<SongRow>> ReadRowGroupsAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int groups;
        DatasetInfo info;
        await using (var reader = await OpenAsync(path, cancellationToken))
        {
            groups = reader.RowGroupCount;
            info = InfoOf(reader, path);
        }

        await using var stream = File.OpenRead(path);
        for (var g = 0; g < groups; g++)
        {
            var result = await ParquetSerializer.DeserializeAsync<SongRow>(stream, new ParquetOptions(), g, cancellationToken);
            foreach (var row in result.Data)
            {
                Check(row, info);
            }

            yield return result.Data;
        }
    }

    /// <summary>The streams score of every row, in file order, read from that column alone.</summary>
    public static async Task<float?[]> ReadStreamsAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var reader = await OpenAsync(path, cancellationToken);
        var field = reader.Schema.DataFields.FirstOrDefault(f => f.Name == "streams")
            ?? throw new InvalidDataException($"{path}: no 'streams' column.");
        var values = new List<float?>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var buffer = new float?[group.RowCount];
            await group.ReadAsync<float>(field, buffer.AsMemory(), null, cancellationToken);
            values.AddRange(buffer);
        }

        return [.. values];
    }

    /// <summary>The number of rows in each row group.</summary>
    public static async Task<IReadOnlyList<int>> RowGroupSizesAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var reader = await OpenAsync(path, cancellationToken);
        return reader.RowGroups.Select(g => checked((int)g.RowCount)).ToList();
    }

    /// <summary>One row group's rows.</summary>
    public static async Task<IList<SongRow>> ReadRowGroupAsync(string path, int group, CancellationToken cancellationToken = default)
    {
        var info = await ReadInfoAsync(path, cancellationToken);
        await using var stream = File.OpenRead(path);
        var result = await ParquetSerializer.DeserializeAsync<SongRow>(stream, new ParquetOptions(), group, cancellationToken);
        foreach (var row in result.Data)
        {
            Check(row, info);
        }

        return result.Data;
    }

    public static async Task<List<SongRow>> ReadAllAsync(string path, CancellationToken cancellationToken = default)
    {
        var rows = new List<SongRow>();
        await foreach (var group in ReadRowGroupsAsync(path, cancellationToken))
        {
            rows.AddRange(group);
        }

        return rows;
    }

    private static async Task<ParquetReader> OpenAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: dataset not found.");
        }

        try
        {
            return await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: not a readable Parquet dataset ({ex.Message}).", ex);
        }
    }

    private static DatasetInfo InfoOf(ParquetReader reader, string path)
    {
        int Read(string key) =>
            reader.CustomMetadata.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new InvalidDataException($"{path}: missing or invalid dataset metadata '{key}'.");
        return new DatasetInfo(Read(DatasetInfo.LayersKey), Read(DatasetInfo.HiddenKey), reader.CustomMetadata.GetValueOrDefault(DatasetInfo.DescriptionKey, ""));
    }

    private static void Check(SongRow row, DatasetInfo info)
    {
        if (row.Segments < 1 || row.Embedding.Length != row.Segments * info.SegmentWidth)
        {
            throw new InvalidDataException($"Track '{row.TrackId}': embedding holds {row.Embedding.Length} floats, expected {row.Segments} segments × {info.Layers} × {info.Hidden}.");
        }
    }
}
