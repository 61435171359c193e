using System.Globalization;
using System.Text.Json;

namespace Apex.Arena;

/// <summary>The battle formats a file may hold (one per file).</summary>
public enum BattleFormat
{
    /// <summary>The project's documented format: battle_id, prompt, a_track, b_track, a_system, b_system, vote (a, b, tie, both_bad), instrumental, ts, voter.</summary>
    Documented,

    /// <summary>FastChat / LMArena clean battles: model_a, model_b, winner (model_a, model_b, tie, "tie (bothbad)"), question_id, tstamp, judge; track_a, track_b, instrumental, voter and ts too.</summary>
    FastChat,
}

/// <summary>A battle file as read: its battles in file order, its format, and what its reader should be told.</summary>
public sealed record BattleFileContents(IReadOnlyList<Battle> Battles, BattleFormat Format, IReadOnlyList<string> Notes);

/// <summary>
/// Reads and writes battle files: a JSON array or JSON Lines, in either <see cref="BattleFormat"/>,
/// detected per file. System names are trimmed; names that differ only by case stay different systems
/// and are reported; battles between two tracks of one system are kept (leaderboards skip them).
/// FastChat's "tie (bothbad)" is read as both_bad, left out of ratings as the documented rule says;
/// FastChat itself counts it as a tie, which <c>bothBadAsTie</c> chooses.
/// </summary>
public static class BattleFile
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = false };

    public static async Task<IReadOnlyList<Battle>> ReadAsync(string path, CancellationToken cancellationToken = default) =>
        (await ReadFileAsync(path, bothBadAsTie: false, cancellationToken)).Battles;

    public static async Task<BattleFileContents> ReadFileAsync(string path, bool bothBadAsTie = false, CancellationToken cancellationToken = default)
    {
        var text = await File.ReadAllTextAsync(path, cancellationToken);
        var items = text.TrimStart().StartsWith('[') ? ArrayItems(path, text) : Lines(path, text);
        var battles = new List<Battle>();
        BattleFormat? format = null;
        foreach (var (location, element) in items)
        {
            using (element)
            {
                var root = element.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidDataException($"{path}:{location}: a battle is a JSON object.");
                }

                var found = FormatOf(root) ?? throw new InvalidDataException($"{path}:{location}: not a battle: expected a_system, b_system and vote (documented format) or model_a, model_b and winner (FastChat).");
                if (format is { } known && known != found)
                {
                    throw new InvalidDataException($"{path}:{location}: a {Name(found)} battle in a file of {Name(known)} battles; one format per file.");
                }

                format = found;
                battles.Add(found == BattleFormat.Documented ? Documented(root, path, location) : FastChat(root, path, location, bothBadAsTie));
            }
        }

        return new BattleFileContents(battles, format ?? BattleFormat.Documented, Notes(battles));
    }

    public static async Task WriteAsync(string path, IEnumerable<Battle> battles, CancellationToken cancellationToken = default)
    {
        await using var writer = new StreamWriter(path);
        foreach (var battle in battles)
        {
            await writer.WriteLineAsync(JsonSerializer.Serialize(battle, Json).AsMemory(), cancellationToken);
        }
    }

    public static bool InScope(Battle battle, ArenaScope scope)
    {
        ArgumentNullException.ThrowIfNull(battle);
        return scope switch
        {
            ArenaScope.Instrumental => battle.Instrumental == true,
            ArenaScope.Vocal => battle.Instrumental == false,
            _ => true,
        };
    }

    private static string Name(BattleFormat format) => format == BattleFormat.Documented ? "documented-format" : "FastChat";

    private static BattleFormat? FormatOf(JsonElement root) =>
        root.TryGetProperty("vote", out _) || root.TryGetProperty("a_system", out _) ? BattleFormat.Documented
        : root.TryGetProperty("winner", out _) || root.TryGetProperty("model_a", out _) ? BattleFormat.FastChat
        : null;

    private static IEnumerable<(string Location, JsonDocument Element)> Lines(string path, string text)
    {
        var number = 0;
        foreach (var line in text.Split('\n'))
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return ($"{number}", Parse(path, $"{number}", line));
            }
        }
    }

    private static IEnumerable<(string Location, JsonDocument Element)> ArrayItems(string path, string text)
    {
        using var array = Parse(path, "1", text);
        if (array.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{path}: a JSON array of battles was expected.");
        }

        var index = 0;
        foreach (var item in array.RootElement.EnumerateArray())
        {
            yield return ($"item {index++}", JsonDocument.Parse(item.GetRawText()));
        }
    }

    private static JsonDocument Parse(string path, string location, string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}:{location}: not a battle ({ex.Message}).", ex);
        }
    }

    private static Battle Documented(JsonElement root, string path, string location)
    {
        var vote = Text(root, "vote", path, location) switch
        {
            "a" => BattleWinner.ModelA,
            "b" => BattleWinner.ModelB,
            "tie" => BattleWinner.Tie,
            "both_bad" => BattleWinner.BothBad,
            var other => throw new InvalidDataException($"{path}:{location}: vote must be a, b, tie or both_bad (was '{other}')."),
        };
        return new Battle(
            Required(root, "battle_id", path, location), System(root, "a_system", path, location), System(root, "b_system", path, location), vote,
            Flag(root, "instrumental", path, location), Text(root, "a_track", path, location), Text(root, "b_track", path, location),
            Text(root, "voter", path, location), Time(root, "ts", path, location), Text(root, "prompt", path, location));
    }

    private static Battle FastChat(JsonElement root, string path, string location, bool bothBadAsTie)
    {
        var winner = Text(root, "winner", path, location) switch
        {
            "model_a" => BattleWinner.ModelA,
            "model_b" => BattleWinner.ModelB,
            "tie" => BattleWinner.Tie,
            "tie (bothbad)" or "both_bad" => bothBadAsTie ? BattleWinner.Tie : BattleWinner.BothBad,
            var other => throw new InvalidDataException($"{path}:{location}: winner must be model_a, model_b, tie or \"tie (bothbad)\" (was '{other}')."),
        };
        var id = Text(root, "battle_id", path, location) ?? Text(root, "question_id", path, location)
            ?? throw new InvalidDataException($"{path}:{location}: a battle needs battle_id (or FastChat's question_id).");
        return new Battle(
            id, System(root, "model_a", path, location), System(root, "model_b", path, location), winner,
            Flag(root, "instrumental", path, location), Text(root, "track_a", path, location), Text(root, "track_b", path, location),
            Text(root, "voter", path, location) ?? Text(root, "judge", path, location),
            Time(root, "ts", path, location) ?? Time(root, "tstamp", path, location), Text(root, "prompt", path, location));
    }

    private static string Required(JsonElement root, string name, string path, string location) =>
        Text(root, name, path, location) is { Length: > 0 } value && !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new InvalidDataException($"{path}:{location}: {name} is required.");

    private static string System(JsonElement root, string name, string path, string location) => Required(root, name, path, location).Trim();

    private static string? Text(JsonElement root, string name, string path, string location) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.ValueKind == JsonValueKind.Number ? value.GetRawText()
        : throw new InvalidDataException($"{path}:{location}: {name} must be a string.");

    private static bool? Flag(JsonElement root, string name, string path, string location) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
        : throw new InvalidDataException($"{path}:{location}: {name} must be true or false.");

    /// <summary>An ISO 8601 time, or a number of seconds since 1970 (FastChat's tstamp).</summary>
    private static DateTimeOffset? Time(JsonElement root, string name, string path, string location)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && double.IsFinite(seconds) && Math.Abs(seconds) < 1e11)
        {
            return DateTimeOffset.UnixEpoch.AddSeconds(seconds);
        }

        return value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new InvalidDataException($"{path}:{location}: {name} must be an ISO 8601 time or seconds since 1970.");
    }

    private static List<string> Notes(IReadOnlyList<Battle> battles)
    {
        var notes = new List<string>();
        var same = battles.Count(b => b.SameSystem);
        if (same > 0)
        {
            notes.Add($"{same} battle(s) between two tracks of one system: leaderboards skip them, arena-eval uses them.");
        }

        foreach (var spellings in battles.SelectMany(b => new[] { b.ModelA, b.ModelB }).Distinct(StringComparer.Ordinal)
                     .GroupBy(s => s, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            notes.Add($"systems {string.Join(", ", spellings.Order(StringComparer.Ordinal).Select(s => $"'{s}'"))} differ only by case; they are rated as different systems.");
        }

        return notes;
    }
}
