using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Apex.Silo.Hosting;

/// <summary>
/// A JSON value outside its field's documented rule; the 400 answer quotes the rule beside the field.
/// System.Text.Json keeps this instance (adding only the path), so <see cref="BadRequestHandler"/> can tell it apart.
/// </summary>
public sealed class JsonFieldRuleException(string rule) : JsonException(rule)
{
    public string Rule { get; } = rule;
}

/// <summary>
/// Times in request bodies must carry their offset (<c>Z</c> or <c>±hh:mm</c>, RFC 3339): a time without one
/// would be read in the server's own time zone, so the same request would mean different instants on
/// differently configured hosts.
/// </summary>
public sealed class ExplicitOffsetTimeConverter : JsonConverter<DateTimeOffset>
{
    public const string Rule = "an ISO 8601 / RFC 3339 date and time with its offset (Z or ±hh:mm), e.g. 2026-05-01T12:00:00Z";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String || reader.GetString() is not { } text || !TryParse(text, out var value))
        {
            throw new JsonFieldRuleException($"Must be {Rule}.");
        }

        return value;
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value);
    }

    /// <summary>Parses a time that states its offset; refuses one that leaves it to the server's zone.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        return text is { Length: > 10 } && HasOffset(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value);
    }

    private static bool HasOffset(string text)
    {
        if (text[^1] is 'Z' or 'z')
        {
            return true;
        }

        // ±hh:mm or ±hhmm after the time part (the date's own hyphens come before the 'T').
        var time = text.IndexOfAny(['T', 't', ' ']);
        if (time < 0)
        {
            return false;
        }

        var sign = text.LastIndexOfAny(['+', '-']);
        return sign > time && text.Length - sign is 6 or 5;
    }
}
