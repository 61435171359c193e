using System.Text.Json;
using Apex.Audio.Decoding;
using Apex.Embedding;

namespace Apex.Cli.Inputs;

/// <summary>Turns the command line's audio arguments (files, folders, a JSONL list) into requests, in order.</summary>
internal static class AudioInputs
{
    /// <summary>Extensions picked up when a folder is given; a file named explicitly is always tried.</summary>
    public static readonly IReadOnlySet<string> AudioExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".wave", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".webm", ".mka", ".mp2", ".ac3",
    };

    /// <exception cref="InputListException">The list file cannot be read or has a bad line.</exception>
    public static List<EmbedRequest> Resolve(IEnumerable<string> paths, string? inputList)
    {
        var requests = new List<EmbedRequest>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                requests.AddRange(Directory
                    .EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => AudioExtensions.Contains(Path.GetExtension(f)))
                    .Order(StringComparer.Ordinal)
                    .Select(f => new EmbedRequest(f)));
            }
            else
            {
                // A missing file stays in the list so that it is reported in its place, not silently dropped.
                requests.Add(new EmbedRequest(path));
            }
        }

        if (inputList is not null)
        {
            requests.AddRange(ReadList(inputList));
        }

        return requests;
    }

    /// <summary>Resolves the inputs or says why there are none usable (a bad list, or nothing at all); null then.</summary>
    public static List<EmbedRequest>? ResolveOrReport(IEnumerable<string> paths, string? inputList, string verb)
    {
        try
        {
            var requests = Resolve(paths, inputList);
            if (requests.Count > 0)
            {
                return requests;
            }

            CliConsole.Fail($"no audio to {verb}: give files, folders with audio files, or --input-list.");
        }
        catch (InputListException ex)
        {
            CliConsole.Fail(ex.Message);
        }

        return null;
    }

    /// <summary>Reads one <c>{"path": …, "start_seconds"?: …, "end_seconds"?: …}</c> per line; blank lines are skipped.</summary>
    public static List<EmbedRequest> ReadList(string listPath)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(listPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InputListException($"{listPath}: cannot read the input list ({ex.Message}).", ex);
        }

        var requests = new List<EmbedRequest>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!string.IsNullOrWhiteSpace(lines[i]))
            {
                requests.Add(ParseLine(lines[i], $"{listPath}:{i + 1}"));
            }
        }

        return requests;
    }

    private static EmbedRequest ParseLine(string line, string where)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("path", out var path) || path.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(path.GetString()))
            {
                throw new InputListException($"{where}: each line must be a JSON object with a non-empty string \"path\".");
            }

            var start = OptionalSeconds(root, "start_seconds", where);
            var end = OptionalSeconds(root, "end_seconds", where);
            if (start < 0 || end <= (start ?? 0))
            {
                throw new InputListException($"{where}: need 0 <= start_seconds < end_seconds (got {start?.ToString() ?? "-"}, {end?.ToString() ?? "-"}).");
            }

            var clip = start is null && end is null ? null : new AudioClip(start, end);
            return new EmbedRequest(path.GetString()!, clip);
        }
        catch (JsonException ex)
        {
            throw new InputListException($"{where}: not valid JSON ({ex.Message}).", ex);
        }
    }

    private static double? OptionalSeconds(JsonElement root, string name, string where)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && double.IsFinite(seconds)
            ? seconds
            : throw new InputListException($"{where}: \"{name}\" must be a number of seconds.");
    }
}

/// <summary>A bad input list: the message names the file and line.</summary>
internal sealed class InputListException : Exception
{
    public InputListException()
    {
    }

    public InputListException(string message)
        : base(message)
    {
    }

    public InputListException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
