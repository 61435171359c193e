namespace Apex.Training.Data;

/// <summary>The rows of each part of a dataset's stratified split, read in row groups.</summary>
public sealed record SplitParts(DatasetSplit Split, int Rows, List<SongRow> Train, List<SongRow> Validation, List<SongRow> Test)
{
    /// <summary>
    /// Reads the streams column first (for the split), then the rows of each part. In song mode rows
    /// keep only their mean embedding. With <paramref name="trainInMemory"/> false the training rows
    /// are left on disk (segment mode streams them per epoch).
    /// </summary>
    public static async Task<SplitParts> ReadAsync(string path, DatasetInfo info, int seed, InputMode mode, bool trainInMemory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(info);
        var streams = await ParquetDataset.ReadStreamsAsync(path, cancellationToken);
        var split = DatasetSplit.Stratified(streams, seed);
        var part = new int[streams.Length]; // 0 train, 1 validation, 2 test
        Array.ForEach(split.Validation, i => part[i] = 1);
        Array.ForEach(split.Test, i => part[i] = 2);

        List<SongRow> train = [], validation = [], test = [];
        var index = 0;
        await foreach (var group in ParquetDataset.ReadRowGroupsAsync(path, cancellationToken))
        {
            foreach (var row in group)
            {
                var target = part[index++] switch { 1 => validation, 2 => test, _ => trainInMemory ? train : null };
                target?.Add(mode == InputMode.Song ? TrainingSet.ToSongMean(row, info) : row);
            }
        }

        return new SplitParts(split, streams.Length, train, validation, test);
    }

    /// <summary>The same split of rows already in memory (one per song, e.g. a live snapshot of song means).</summary>
    public static SplitParts FromRows(IReadOnlyList<SongRow> rows, int seed)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var split = DatasetSplit.Stratified(rows.Select(r => r.Streams).ToList(), seed);
        List<SongRow> Pick(int[] indices) => [.. indices.Select(i => rows[i])];
        return new SplitParts(split, rows.Count, Pick(split.Train), Pick(split.Validation), Pick(split.Test));
    }
}
