using System.Text.Json;
using System.Text.Json.Serialization;

namespace Apex.Arena;

/// <summary>Who a judge preferred: A, B, a tie (half a win each way) or both bad (left out of ratings).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BattleWinner>))]
public enum BattleWinner
{
    [JsonStringEnumMemberName("model_a")]
    ModelA,

    [JsonStringEnumMemberName("model_b")]
    ModelB,

    [JsonStringEnumMemberName("tie")]
    Tie,

    [JsonStringEnumMemberName("both_bad")]
    BothBad,
}

/// <summary>One pairwise battle between two systems' tracks, as the arena records it.</summary>
public sealed record Battle(
    [property: JsonPropertyName("battle_id")] string BattleId,
    [property: JsonPropertyName("model_a")] string ModelA,
    [property: JsonPropertyName("model_b")] string ModelB,
    [property: JsonPropertyName("winner")] BattleWinner Winner,
    [property: JsonPropertyName("instrumental")] bool? Instrumental = null,
    [property: JsonPropertyName("track_a")] string? TrackA = null,
    [property: JsonPropertyName("track_b")] string? TrackB = null,
    [property: JsonPropertyName("voter")] string? Voter = null,
    [property: JsonPropertyName("ts")] DateTimeOffset? Timestamp = null);

/// <summary>Which battles a leaderboard counts.</summary>
public enum ArenaScope
{
    Overall,
    Instrumental,
    Vocal,
}

public static class BattleFile
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = false };

    /// <summary>Reads JSON Lines of battles; a malformed line is an error naming its line number.</summary>
    public static async Task<IReadOnlyList<Battle>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var battles = new List<Battle>();
        var number = 0;
        await foreach (var line in File.ReadLinesAsync(path, cancellationToken))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            Battle? battle;
            try
            {
                battle = JsonSerializer.Deserialize<Battle>(line, Json);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{path}:{number}: not a battle ({ex.Message}).", ex);
            }

            if (battle is null || string.IsNullOrWhiteSpace(battle.BattleId) || string.IsNullOrWhiteSpace(battle.ModelA) || string.IsNullOrWhiteSpace(battle.ModelB))
            {
                throw new InvalidDataException($"{path}:{number}: a battle needs battle_id, model_a, model_b and winner.");
            }

            if (battle.ModelA == battle.ModelB)
            {
                throw new InvalidDataException($"{path}:{number}: model_a and model_b are the same system ({battle.ModelA}).");
            }

            battles.Add(battle);
        }

        return battles;
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
}
