using System.Security.Cryptography;
using System.Text;
using Apex.Grains.Webhooks;

namespace Apex.Cluster.Tests;

public sealed class WebhookSignatureTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 0, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":"breakout","track_id":"t1"}""");

    [Fact]
    public void A_signature_is_the_documented_hmac_and_verifies_only_for_its_secret_body_and_time()
    {
        var t = Now.ToUnixTimeSeconds();
        var header = WebhookSignature.Sign("s3cret", t, Body);

        // The scheme as documented, computed here independently: HMAC-SHA256 over "{t}." + body.
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("s3cret"), (byte[])[.. Encoding.UTF8.GetBytes($"{t}."), .. Body]));
        Assert.Equal($"t={t},v1={expected}", header);

        var tolerance = TimeSpan.FromMinutes(5);
        Assert.True(WebhookSignature.Verify("s3cret", header, Body, Now.AddMinutes(4), tolerance));
        Assert.False(WebhookSignature.Verify("other", header, Body, Now, tolerance));
        Assert.False(WebhookSignature.Verify("s3cret", header, [.. Body, (byte)' '], Now, tolerance));
        Assert.False(WebhookSignature.Verify("s3cret", header, Body, Now.AddMinutes(6), tolerance)); // a replay, later
        Assert.False(WebhookSignature.Verify("s3cret", header.Replace($"t={t}", $"t={t + 1}", StringComparison.Ordinal), Body, Now, tolerance));
        Assert.False(WebhookSignature.Verify("s3cret", null, Body, Now, tolerance));
        Assert.False(WebhookSignature.Verify("s3cret", "t=x,v1=zz", Body, Now, tolerance));
        // A receiver in a secret rotation may be sent two signatures: either may match.
        Assert.True(WebhookSignature.Verify("s3cret", $"{header},v1={new string('0', 64)}", Body, Now, tolerance));
    }
    [Fact]
    public void The_readmes_receiver_snippet_accepts_what_the_cluster_signs_and_nothing_else()
    {
        var header = WebhookSignature.Sign("whsec_x", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), Body);
        Assert.True(ReadmeVerify("whsec_x", header, Body, TimeSpan.FromMinutes(5)));
        Assert.False(ReadmeVerify("whsec_y", header, Body, TimeSpan.FromMinutes(5)));
        Assert.False(ReadmeVerify("whsec_x", header, [.. Body, (byte)' '], TimeSpan.FromMinutes(5)));
        Assert.False(ReadmeVerify("whsec_x", WebhookSignature.Sign("whsec_x", DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds(), Body), Body, TimeSpan.FromMinutes(5)));
        Assert.False(ReadmeVerify("whsec_x", null, Body, TimeSpan.FromMinutes(5)));
    }

    // README, "Webhooks": the verification snippet as printed there.
    private static bool ReadmeVerify(string secret, string? header, byte[] body, TimeSpan tolerance)
    {
        var parts = (header ?? "").Split(',').Select(p => p.Trim().Split('=', 2)).Where(p => p.Length == 2).ToList();
        if (!long.TryParse(parts.Find(p => p[0] == "t")?[1], out var t) || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - t) > tolerance.TotalSeconds)
            return false;
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), (byte[])[.. Encoding.UTF8.GetBytes($"{t}."), .. body]));
        return parts.Any(p => p[0] == "v1" && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(p[1]), Encoding.ASCII.GetBytes(expected)));
    }
}
