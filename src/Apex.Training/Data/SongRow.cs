using System.Text.Json.Serialization;

namespace Apex.Training.Data;

/// <summary>
/// One song of a training/evaluation dataset (a Parquet row). Popularity columns hold scores (0..100,
/// after the per-platform transform), aesthetic columns SongEval scores (1..5); null is a missing label.
/// <see cref="Embedding"/> holds segments × layers × hidden floats.
/// </summary>
public sealed class SongRow
{
    [JsonPropertyName("track_id")]
    public string TrackId { get; set; } = "";

    [JsonPropertyName("platform")]
    public string Platform { get; set; } = "";

    [JsonPropertyName("created_at")]
    public DateTime CreatedAt { get; set; }

    [JsonPropertyName("streams")]
    public float? Streams { get; set; }

    [JsonPropertyName("likes")]
    public float? Likes { get; set; }

    [JsonPropertyName("coherence")]
    public float? Coherence { get; set; }

    [JsonPropertyName("musicality")]
    public float? Musicality { get; set; }

    [JsonPropertyName("memorability")]
    public float? Memorability { get; set; }

    [JsonPropertyName("clarity")]
    public float? Clarity { get; set; }

    [JsonPropertyName("naturalness")]
    public float? Naturalness { get; set; }

    [JsonPropertyName("instrumental")]
    public bool? Instrumental { get; set; }

    [JsonPropertyName("segments")]
    public int Segments { get; set; }

    [JsonPropertyName("embedding")]
    public float[] Embedding { get; set; } = [];

    /// <summary>The label of a task by its name, or null when missing.</summary>
    public float? Label(string task) => task switch
    {
        "streams" => Streams,
        "likes" => Likes,
        "coherence" => Coherence,
        "musicality" => Musicality,
        "memorability" => Memorability,
        "clarity" => Clarity,
        "naturalness" => Naturalness,
        _ => throw new ArgumentException($"Unknown task '{task}'.", nameof(task)),
    };
}
