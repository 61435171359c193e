using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace Apex.Cli.Datasets;

/// <summary>One labels row: raw engagement counts and optional SongEval scores.</summary>
internal sealed record LabelRow(int Line, string TrackId, string Platform, DateTime CreatedAt, long Streams, long Likes, float?[] Aesthetics, bool? Instrumental);

/// <summary>
/// Reads <c>track_id, platform, created_at, streams, likes</c> and optional aesthetic columns
/// (coherence, musicality, memorability, clarity, naturalness; 1..5) and <c>instrumental</c>.
/// A bad row is reported with its line and reason and skipped; a missing required column stops.
/// </summary>
internal static class LabelsCsv
{
    public static readonly string[] AestheticColumns = ["coherence", "musicality", "memorability", "clarity", "naturalness"];
    private static readonly string[] Required = ["track_id", "platform", "created_at", "streams", "likes"];

    public static (List<LabelRow> Rows, List<string> Problems) Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: file not found.");
        }

        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { TrimOptions = TrimOptions.Trim });
        if (!csv.Read() || !csv.ReadHeader())
        {
            throw new InvalidDataException($"{path}: empty file; expected a header with {string.Join(", ", Required)}.");
        }

        var header = csv.HeaderRecord!;
        var missing = Required.Where(c => !header.Contains(c, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"{path}:1: missing column(s) {string.Join(", ", missing)}.");
        }

        var rows = new List<LabelRow>();
        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (csv.Read())
        {
            var line = csv.Parser.RawRow;
            var problem = TryParse(csv, header, line, out var row);
            if (problem is null && !seen.Add(row!.TrackId))
            {
                problem = $"track '{row.TrackId}' appears twice";
            }

            if (problem is null)
            {
                rows.Add(row!);
            }
            else
            {
                problems.Add($"{path}:{line}: {problem}; row skipped");
            }
        }

        return (rows, problems);
    }

    private static string? TryParse(CsvReader csv, string[] header, int line, out LabelRow? row)
    {
        row = null;
        var id = csv.GetField("track_id");
        if (string.IsNullOrEmpty(id))
        {
            return "empty track_id";
        }

        if (!DateTime.TryParse(csv.GetField("created_at"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var created))
        {
            return $"created_at '{csv.GetField("created_at")}' is not a date (ISO 8601)";
        }

        if (!long.TryParse(csv.GetField("streams"), NumberStyles.None, CultureInfo.InvariantCulture, out var streams)
            || !long.TryParse(csv.GetField("likes"), NumberStyles.None, CultureInfo.InvariantCulture, out var likes))
        {
            return "streams and likes must be non-negative whole numbers";
        }

        var aesthetics = new float?[AestheticColumns.Length];
        for (var i = 0; i < AestheticColumns.Length; i++)
        {
            var text = header.Contains(AestheticColumns[i], StringComparer.Ordinal) ? csv.GetField(AestheticColumns[i]) : null;
            if (string.IsNullOrEmpty(text))
            {
                continue;
            }

            if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 1 || v > 5)
            {
                return $"{AestheticColumns[i]} '{text}' is not a score in 1..5";
            }

            aesthetics[i] = v;
        }

        bool? instrumental = null;
        if (header.Contains("instrumental", StringComparer.Ordinal) && csv.GetField("instrumental") is { Length: > 0 } flag)
        {
            if (!bool.TryParse(flag, out var b))
            {
                return $"instrumental '{flag}' is not true/false";
            }

            instrumental = b;
        }

        row = new LabelRow(line, id, csv.GetField("platform") ?? "", created, streams, likes, aesthetics, instrumental);
        return null;
    }
}
