namespace Apex.Cli.Import;

/// <summary>
/// One row of a catalogue file: its line (or row number in Parquet), the fields POST /tracks/batch takes
/// (typed: strings, longs, booleans), or why the row could not be read.
/// </summary>
internal sealed record CatalogueRow(long Line, IReadOnlyDictionary<string, object> Fields, string? Error = null)
{
    public string? TrackId => Fields.TryGetValue("track_id", out var id) ? id as string : null;
}
