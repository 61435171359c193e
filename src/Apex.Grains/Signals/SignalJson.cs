using System.Text.Json;

namespace Apex.Grains.Signals;

/// <summary>How signal bodies are written: as the JSON API writes its answers (snake_case names).</summary>
public static class SignalJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string Write<T>(T body) => JsonSerializer.Serialize(body, Options);
}
