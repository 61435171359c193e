using System.Text.Json;
using Apex.Embedding;

namespace Apex.Cli.Output;

/// <summary>Writes one compact JSON object per embedding and line (JSON Lines).</summary>
internal static class EmbeddingJsonWriter
{
    public static void Write(Stream stream, AudioEmbedding embedding)
    {
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true }))
        {
            json.WriteStartObject();
            json.WriteString("path", embedding.Path);
            json.WriteNumber("duration_seconds", Math.Round(embedding.DurationSeconds, 6));
            json.WriteNumber("segments", embedding.SegmentCount);
            json.WriteStartArray("layers");
            foreach (var layer in embedding.Layers)
            {
                json.WriteNumberValue(layer);
            }

            json.WriteEndArray();
            json.WriteNumber("hidden", embedding.Hidden);
            json.WriteStartArray("embedding");
            for (var s = 0; s < embedding.SegmentCount; s++)
            {
                var segment = embedding.Segment(s);
                json.WriteStartArray();
                for (var l = 0; l < embedding.Layers.Count; l++)
                {
                    json.WriteStartArray();
                    foreach (var value in segment.Slice(l * embedding.Hidden, embedding.Hidden))
                    {
                        json.WriteNumberValue(value);
                    }

                    json.WriteEndArray();
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
    }
}
