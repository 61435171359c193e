using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Apex.Grains.Webhooks;

/// <summary>
/// How a webhook delivery is signed: header <c>Apex-Signature: t={unix seconds},v1={hex}</c>, where hex is
/// HMAC-SHA256 with the subscription's secret over the UTF-8 bytes of "{t}." followed by the raw body.
/// A receiver recomputes it, compares in constant time, and refuses a timestamp outside its tolerance
/// (a replayed delivery). The timestamp is signed with the body, so neither can be changed alone.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "Apex-Signature";

    /// <summary>The header value for <paramref name="body"/> sent at <paramref name="timestamp"/>.</summary>
    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body) =>
        string.Create(CultureInfo.InvariantCulture, $"t={timestamp},v1={Convert.ToHexStringLower(Mac(secret, timestamp, body))}");

    /// <summary>The header value with one v1 per secret: during a rotation, a receiver that knows either one verifies it.</summary>
    public static string Sign(IReadOnlyList<string> secrets, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var header = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"t={timestamp}"));
        foreach (var secret in secrets)
        {
            header.Append(",v1=").Append(Convert.ToHexStringLower(Mac(secret, timestamp, body)));
        }

        return header.ToString();
    }

    /// <summary>True when <paramref name="header"/> signs <paramref name="body"/> with <paramref name="secret"/> and its time is within <paramref name="tolerance"/> of <paramref name="now"/>.</summary>
    public static bool Verify(string secret, string? header, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (header is null)
        {
            return false;
        }

        long? timestamp = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal) && long.TryParse(part.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                timestamp = t;
            }
            else if (part.StartsWith("v1=", StringComparison.Ordinal) && part.Length == 3 + 64)
            {
                try
                {
                    signatures.Add(Convert.FromHexString(part.AsSpan(3)));
                }
                catch (FormatException)
                {
                    // Not a signature; the others may be.
                }
            }
        }

        if (timestamp is not { } at || Math.Abs(now.ToUnixTimeSeconds() - at) > tolerance.TotalSeconds)
        {
            return false;
        }

        var expected = Mac(secret, at, body);
        return signatures.Exists(s => CryptographicOperations.FixedTimeEquals(s, expected));
    }

    private static byte[] Mac(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{timestamp}."));
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(prefix);
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }
}
