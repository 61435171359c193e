namespace Apex.Silo.Apis;

/// <summary>
/// The domains of the API's fields, in one place: what the validators check and what the OpenAPI
/// document states. Anything outside is a 400 naming the field and the rule.
/// </summary>
public static class Domains
{
    /// <summary>Ids that appear in URLs (track_id, platform, track ids anywhere): 1 to N of A-Z a-z 0-9 . _ : -.</summary>
    public const string NamePattern = "^[A-Za-z0-9._:-]+$";

    public const int MaxTrackId = 200;
    public const int MaxPlatform = 100;
    public const int MaxClientId = 200;
    public const int MaxSystem = 200;
    public const int MaxPrompt = 2000;

    /// <summary>The earliest date a track or event may carry.</summary>
    public static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How far ahead of the server's clock a client's time may be (clock skew).</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromDays(1);

    public static bool IsName(string? value, int maxLength) =>
        !string.IsNullOrEmpty(value) && value.Length <= maxLength && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');

    /// <summary>A client's free-form id (event_id, battle_id, system names): 1 to N characters, plain text (<see cref="IsPlainText"/>), not only white space.</summary>
    public static bool IsClientId(string? value, int maxLength) =>
        !string.IsNullOrWhiteSpace(value) && value.Length <= maxLength && IsPlainText(value);

    /// <summary>
    /// No control characters and no bidirectional overrides or isolates: text shown in listings and the
    /// console reads as it is stored (a right-to-left override could make "evil" display as "live").
    /// </summary>
    public static bool IsPlainText(string value) =>
        !value.Any(c => char.IsControl(c) || c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'));

    public static bool IsPlausibleTime(DateTimeOffset at, DateTimeOffset now) => at >= Earliest && at <= now + Skew;

    public static string NameRule(int maxLength) => $"1 to {maxLength} of A-Z a-z 0-9 . _ : - (it appears in URLs)";

    public static string ClientIdRule(int maxLength) => $"1 to {maxLength} characters, no control characters or bidirectional overrides";

    public const string TimeRule = "an ISO 8601 date and time with its offset (Z or ±hh:mm), from 2000-01-01 to at most 24 h after the server's clock";
}
