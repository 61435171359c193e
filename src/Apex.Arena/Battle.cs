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

/// <summary>
/// One pairwise battle between two systems' tracks, as the arena records it. Two tracks of one system
/// are valid data: leaderboards skip such a battle (and count it), the preference experiment uses it.
/// </summary>
public sealed record Battle(
    [property: JsonPropertyName("battle_id")] string BattleId,
    [property: JsonPropertyName("model_a")] string ModelA,
    [property: JsonPropertyName("model_b")] string ModelB,
    [property: JsonPropertyName("winner")] BattleWinner Winner,
    [property: JsonPropertyName("instrumental")] bool? Instrumental = null,
    [property: JsonPropertyName("track_a")] string? TrackA = null,
    [property: JsonPropertyName("track_b")] string? TrackB = null,
    [property: JsonPropertyName("voter")] string? Voter = null,
    [property: JsonPropertyName("ts")] DateTimeOffset? Timestamp = null,
    [property: JsonPropertyName("prompt")] string? Prompt = null)
{
    /// <summary>Both tracks come from one system: no information about systems' relative strength.</summary>
    public bool SameSystem => string.Equals(ModelA, ModelB, StringComparison.Ordinal);
}

/// <summary>Which battles a leaderboard counts.</summary>
public enum ArenaScope
{
    Overall,
    Instrumental,
    Vocal,
}
