using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Apex.Core.Popularity;
using CsvHelper;
using CsvHelper.Configuration;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex popularity</c>: engagement counts in, labels out: percentiles and popularity scores from
/// the project's one labeler (<see cref="SongLabeler"/>, with the options <c>apex dataset build</c> takes).
/// </summary>
internal static class PopularityCommand
{
    /// <summary>One input song and how its streams column was named (<c>count</c>: the older one-column form).</summary>
    internal sealed record CountsFile(List<SongCounts> Songs, bool HasLikes, bool CountColumn);

    public static Command Create()
    {
        var input = new Option<string>("--input")
        {
            Description = "CSV with a header: track_id and streams (or count), optionally likes, platform, created_at (ISO 8601) and content_hash (finds duplicate audio).",
            Required = true,
        };
        var format = new Option<string>("--format") { Description = "csv or json, on stdout.", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "json");
        var labeling = new LabelingOptionsBinder();
        var command = new Command("popularity", "Turn streams and likes counts into APEX popularity scores (100·p^k, p = percentile rank), curated as the paper builds its labels.") { input, format };
        foreach (var option in labeling.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(result => Run(result, labeling, result.GetValue(input)!, result.GetValue(format) == "json"));
        return command;
    }

    private static int Run(ParseResult parsed, LabelingOptionsBinder labeling, string input, bool json)
    {
        CountsFile file;
        LabelingOptions options;
        try
        {
            file = Read(input);
            options = labeling.Bind(parsed, file.Songs.Select(s => s.CreatedAt));
        }
        catch (CountsFormatException ex)
        {
            CliConsole.Fail(ex.Message);
            return ExitCodes.BadInput;
        }
        catch (ArgumentException ex)
        {
            CliConsole.Fail(ex.Message);
            return ExitCodes.BadInput;
        }

        var labels = SongLabeler.Label(file.Songs, options);
        using var stdout = Console.OpenStandardOutput();
        if (json)
        {
            WriteJson(stdout, labels, file);
        }
        else
        {
            WriteCsv(stdout, labels, file);
        }

        foreach (var line in LabelingOptionsBinder.Summary(labels, options))
        {
            CliConsole.Note(line);
        }

        return ExitCodes.Ok;
    }

    internal static CountsFile Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CountsFormatException($"{path}: file not found.");
        }

        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { TrimOptions = TrimOptions.Trim, DetectColumnCountChanges = true });
        if (!csv.Read() || !csv.ReadHeader())
        {
            throw new CountsFormatException($"{path}: empty file; expected a header line 'track_id,streams[,likes,platform,created_at,content_hash]'.");
        }

        var header = csv.HeaderRecord!;
        bool Has(string column) => header.Contains(column, StringComparer.Ordinal);
        if (!Has("track_id"))
        {
            throw new CountsFormatException($"{path}:1: missing column 'track_id' (header is '{string.Join(",", header)}').");
        }

        var countColumn = !Has("streams") && Has("count");
        if (!Has("streams") && !countColumn)
        {
            throw new CountsFormatException($"{path}:1: missing column 'streams' (or 'count') (header is '{string.Join(",", header)}').");
        }

        var streamsColumn = countColumn ? "count" : "streams";
        var songs = new List<SongCounts>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (ReadRow(csv, path))
        {
            var line = csv.Parser.RawRow;
            var id = csv.GetField("track_id");
            if (string.IsNullOrEmpty(id))
            {
                throw new CountsFormatException($"{path}:{line}: empty track_id.");
            }

            var streams = Count(csv, streamsColumn, path, line, id);
            var likes = Has("likes") ? Count(csv, "likes", path, line, id) : 0;
            DateTimeOffset? created = null;
            if (Has("created_at") && csv.GetField("created_at") is { Length: > 0 } createdText)
            {
                created = DateTimeOffset.TryParse(createdText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var c)
                    ? c
                    : throw new CountsFormatException($"{path}:{line}: created_at '{createdText}' of track '{id}' is not a date (ISO 8601).");
            }

            if (!seen.Add(id))
            {
                throw new CountsFormatException($"{path}:{line}: track '{id}' appears twice.");
            }

            songs.Add(new SongCounts(id, Has("platform") ? csv.GetField("platform") ?? "" : "", streams, likes, created,
                Has("content_hash") && csv.GetField("content_hash") is { Length: > 0 } hash ? hash : null));
        }

        return new CountsFile(songs, Has("likes"), countColumn);
    }

    private static long Count(CsvReader csv, string column, string path, int line, string id) =>
        long.TryParse(csv.GetField(column), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            ? count
            : throw new CountsFormatException($"{path}:{line}: {column} '{csv.GetField(column)}' of track '{id}' is not a non-negative whole number.");

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

    private static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    private static void WriteCsv(Stream stream, SongLabels labels, CountsFile file)
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        string[] columns = file.CountColumn
            ? ["track_id", "platform", "count", "percentile", "score"]
            : ["track_id", "platform", "streams", "streams_percentile", "streams_score", .. file.HasLikes ? new[] { "likes", "likes_percentile", "likes_score" } : []];
        foreach (var name in columns)
        {
            csv.WriteField(name);
        }

        csv.NextRecord();
        foreach (var label in labels.Kept)
        {
            csv.WriteField(label.Song.TrackId);
            csv.WriteField(label.Song.Platform);
            csv.WriteField(label.Song.Streams);
            csv.WriteField(Number(label.StreamsPercentile));
            csv.WriteField(Number(label.StreamsScore));
            if (!file.CountColumn && file.HasLikes)
            {
                csv.WriteField(label.Song.Likes);
                csv.WriteField(Number(label.LikesPercentile));
                csv.WriteField(Number(label.LikesScore));
            }

            csv.NextRecord();
        }
    }

    private static void WriteJson(Stream stream, SongLabels labels, CountsFile file)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartArray("labels");
        foreach (var label in labels.Kept)
        {
            json.WriteStartObject();
            json.WriteString("track_id", label.Song.TrackId);
            json.WriteString("platform", label.Song.Platform);
            json.WriteNumber("streams", label.Song.Streams);
            json.WriteNumber("streams_percentile", label.StreamsPercentile);
            json.WriteNumber("streams_score", label.StreamsScore);
            if (file.HasLikes)
            {
                json.WriteNumber("likes", label.Song.Likes);
                WriteNumberOrNull(json, "likes_percentile", label.LikesPercentile);
                WriteNumberOrNull(json, "likes_score", label.LikesScore);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("dropped");
        foreach (var dropped in labels.Dropped)
        {
            json.WriteStartObject();
            json.WriteString("track_id", dropped.Song.TrackId);
            json.WriteString("platform", dropped.Song.Platform);
            json.WriteString("reason", dropped.Reason switch
            {
                DropReason.ZeroStreams => "zero_streams",
                DropReason.TooYoung => "too_young",
                DropReason.Duplicate => "duplicate",
                DropReason.Balanced => "balanced",
                _ => throw new InvalidOperationException($"unknown drop reason {dropped.Reason}"),
            });
            json.WriteString("detail", dropped.Detail);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
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
