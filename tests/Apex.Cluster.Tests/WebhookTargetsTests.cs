using System.Net;
using Apex.Grains.Webhooks;

namespace Apex.Cluster.Tests;

public sealed class WebhookTargetsTests
{
    [Theory]
    [InlineData("ftp://203.0.113.7/hook", "http or https")]
    [InlineData("/relative", "http or https")]
    [InlineData("https://user:pw@203.0.113.7/hook", "no user name")]
    [InlineData("http://127.0.0.1:8080/hook", "loopback")]
    [InlineData("http://localhost/hook", "loopback")]
    [InlineData("http://[::1]/hook", "loopback")]
    [InlineData("http://169.254.169.254/latest/meta-data", "link-local")]
    [InlineData("http://0.0.0.0/hook", "unspecified")]
    [InlineData("http://[fe80::1]/hook", "link-local")]
    [InlineData("http://[::ffff:127.0.0.1]/hook", "loopback")]
    [InlineData("http://239.1.2.3/hook", "multicast")]
    public async Task A_target_that_could_reach_the_cluster_itself_is_refused_with_the_reason(string url, string reason)
    {
        Assert.Contains(reason, await WebhookTargets.CheckAsync(url, allowLoopback: false), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_public_address_is_allowed_and_loopback_only_when_configured()
    {
        Assert.Null(await WebhookTargets.CheckAsync("https://203.0.113.7/hooks/apex", allowLoopback: false));
        Assert.Null(await WebhookTargets.CheckAsync("http://[2001:db8::7]:8443/hook", allowLoopback: false));
        Assert.Null(await WebhookTargets.CheckAsync("http://127.0.0.1:8080/hook", allowLoopback: true));
        Assert.False(WebhookTargets.Allowed(IPAddress.Parse("169.254.169.254"), allowLoopback: true));
    }
}
