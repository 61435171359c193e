using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Apex.Core.Popularity;
using CsvHelper;
using CsvHelper.Configuration;

namespace Apex.Cli.Commands;

/// <summary><c>apex popularity</c>: engagement counts in, percentiles and popularity scores out.</summary>
internal static class PopularityCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = "CSV with a header: track_id,count and optionally platform (ranked per platform).", Required = true };
        var format = new Option<string>("--format") { Description = "csv or json, on stdout.", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "json");
        var command = new Command("popularity", "Turn streams or likes counts into APEX popularity scores (100·p^k, p = percentile rank).") { input, format };
        command.SetAction(result => Run(result.GetValue(input)!, result.GetValue(format) == "json"));
        return command;
    }

    private static int Run(string input, bool json)
    {
        List<EngagementCount> rows;
        try
        {
            rows = Read(input);
        }
        catch (CountsFormatException ex)
        {
            CliConsole.Fail(ex.Message);
            return ExitCodes.BadInput;
        }

        var result = PopularityLabeler.Label(rows);
        using var stdout = Console.OpenStandardOutput();
        if (json)
        {
            WriteJson(stdout, result);
        }
        else
        {
            WriteCsv(stdout, result);
        }

        if (result.ZeroCounts.Count > 0)
        {
            CliConsole.Note($"{result.ZeroCounts.Count} track(s) with a zero count are not labels and were not scored: {string.Join(", ", result.ZeroCounts.Take(10).Select(z => z.TrackId))}{(result.ZeroCounts.Count > 10 ? ", …" : "")}");
        }

        return ExitCodes.Ok;
    }

    internal static List<EngagementCount> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CountsFormatException($"{path}: file not found.");
        }

        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { TrimOptions = TrimOptions.Trim, DetectColumnCountChanges = true });
        if (!csv.Read() || !csv.ReadHeader())
        {
            throw new CountsFormatException($"{path}: empty file; expected a header line 'track_id,count[,platform]'.");
        }

        var header = csv.HeaderRecord!;
        foreach (var required in new[] { "track_id", "count" })
        {
            if (!header.Contains(required, StringComparer.Ordinal))
            {
                throw new CountsFormatException($"{path}:1: missing column '{required}' (header is '{string.Join(",", header)}').");
            }
        }

        var hasPlatform = header.Contains("platform", StringComparer.Ordinal);
        var rows = new List<EngagementCount>();
        var seen = new HashSet<(string, string)>();
        while (ReadRow(csv, path))
        {
            var line = csv.Parser.RawRow;
            var id = csv.GetField("track_id");
            var platform = hasPlatform ? csv.GetField("platform") ?? "" : "";
            var countText = csv.GetField("count");
            if (string.IsNullOrEmpty(id))
            {
                throw new CountsFormatException($"{path}:{line}: empty track_id.");
            }

            if (!long.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                throw new CountsFormatException($"{path}:{line}: count '{countText}' of track '{id}' is not a non-negative whole number.");
            }

            if (!seen.Add((platform, id)))
            {
                throw new CountsFormatException($"{path}:{line}: track '{id}' appears twice{(hasPlatform ? $" on platform '{platform}'" : "")}.");
            }

            rows.Add(new EngagementCount(id, platform, count));
        }

        return rows;
    }

    private static bool ReadRow(CsvReader csv, string path)
    {
        try
        {
            return csv.Read();
        }
        catch (CsvHelperException ex)
        {
            throw new CountsFormatException($"{path}:{csv.Parser.RawRow}: malformed CSV row ({ex.GetType().Name}).", ex);
        }
    }

    private static void WriteCsv(Stream stream, PopularityLabels result)
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        foreach (var name in new[] { "track_id", "platform", "count", "percentile", "score" })
        {
            csv.WriteField(name);
        }

        csv.NextRecord();
        foreach (var label in result.Labels)
        {
            csv.WriteField(label.TrackId);
            csv.WriteField(label.Platform);
            csv.WriteField(label.Count);
            csv.WriteField(label.Percentile.ToString("R", CultureInfo.InvariantCulture));
            csv.WriteField(label.Score.ToString("R", CultureInfo.InvariantCulture));
            csv.NextRecord();
        }
    }

    private static void WriteJson(Stream stream, PopularityLabels result)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartArray("labels");
        foreach (var label in result.Labels)
        {
            json.WriteStartObject();
            json.WriteString("track_id", label.TrackId);
            json.WriteString("platform", label.Platform);
            json.WriteNumber("count", label.Count);
            json.WriteNumber("percentile", label.Percentile);
            json.WriteNumber("score", label.Score);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("not_labels");
        foreach (var zero in result.ZeroCounts)
        {
            json.WriteStartObject();
            json.WriteString("track_id", zero.TrackId);
            json.WriteString("platform", zero.Platform);
            json.WriteNumber("count", zero.Count);
            json.WriteString("reason", "zero count: not a label");
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}

/// <summary>A counts file that cannot be read; the message names the file and line.</summary>
internal sealed class CountsFormatException : Exception
{
    public CountsFormatException()
    {
    }

    public CountsFormatException(string message)
        : base(message)
    {
    }

    public CountsFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
