using System.Text;
using Apex.Grains.Webhooks;
using Apex.Testing;
using Microsoft.Extensions.Options;

namespace Apex.Cluster.Tests;

/// <summary>One attempt against a real receiver on loopback: what is sent, and what is refused or not followed.</summary>
public sealed class WebhookSenderTests : IAsyncDisposable
{
    private const string Secret = "whsec_test-secret";
    private readonly WebhookReceiver _receiver = WebhookReceiver.Start();

    private static WebhookSender Sender(bool allowLoopback, TimeSpan? timeout = null) =>
        new(Options.Create(new WebhookOptions { AllowLoopback = allowLoopback, Timeout = timeout ?? TimeSpan.FromSeconds(10) }));

    private DueDelivery Delivery(string? url = null, string[]? secrets = null) => new("sub_1-7", "sub_1", url ?? _receiver.Url.ToString(), secrets ?? [Secret], "scored", """{"delivery_id":"sub_1-7","data":{"n":1}}""", 2);

    public ValueTask DisposeAsync() => _receiver.DisposeAsync();

    [Fact]
    public async Task A_delivery_is_a_signed_json_post_with_its_id_type_and_attempt()
    {
        using var sender = Sender(allowLoopback: true);
        var attempt = await sender.SendAsync(Delivery());

        Assert.Equal(new DeliveryAttempt(true, 200, null), attempt);
        var received = Assert.Single(_receiver.Requests);
        Assert.Equal(("/hooks/", "sub_1-7", "scored", "3", "application/json; charset=utf-8"), (received.Path, received.DeliveryId, received.Event, received.Attempt, received.ContentType));
        Assert.Equal(Delivery().Body, Encoding.UTF8.GetString(received.Body));
        Assert.True(WebhookSignature.Verify(Secret, received.Signature, received.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify("whsec_other", received.Signature, received.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));

        // During a rotation's grace both secrets sign: a receiver that knows either verifies it.
        Assert.True((await sender.SendAsync(Delivery(secrets: ["whsec_new", Secret]))).Delivered);
        var rotated = _receiver.Requests[^1];
        Assert.All(new[] { "whsec_new", Secret }, s => Assert.True(WebhookSignature.Verify(s, rotated.Signature, rotated.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5))));
    }

    [Fact]
    public async Task A_loopback_target_is_refused_at_connect_time_unless_allowed_by_literal_or_by_name()
    {
        using var sender = Sender(allowLoopback: false);
        foreach (var url in new[] { _receiver.Url.ToString(), $"http://localhost:{_receiver.Url.Port}/hooks/" })
        {
            var attempt = await sender.SendAsync(Delivery(url));
            Assert.False(attempt.Delivered);
            Assert.Null(attempt.StatusCode);
            Assert.Contains("refused", attempt.Error, StringComparison.Ordinal);
        }

        Assert.Empty(_receiver.Requests);
    }

    [Fact]
    public async Task Errors_redirects_and_slow_receivers_are_failures_to_retry()
    {
        using var sender = Sender(allowLoopback: true);
        _receiver.Answer = _ => Task.FromResult(503);
        Assert.Equal((false, (int?)503), (await sender.SendAsync(Delivery())) is var failed ? (failed.Delivered, failed.StatusCode) : default);

        // A redirect is not followed: it could lead to an address a delivery may not reach.
        _receiver.Answer = _ => Task.FromResult(307);
        Assert.Equal((false, (int?)307), (await sender.SendAsync(Delivery())) is var redirected ? (redirected.Delivered, redirected.StatusCode) : default);
        Assert.DoesNotContain(_receiver.Requests, r => r.Path == "/elsewhere");

        _receiver.Answer = async _ =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            return 200;
        };
        using var impatient = Sender(allowLoopback: true, timeout: TimeSpan.FromMilliseconds(500));
        var slow = await impatient.SendAsync(Delivery());
        Assert.False(slow.Delivered);
        Assert.Contains("no answer within", slow.Error, StringComparison.Ordinal);

        using var closed = Sender(allowLoopback: true);
        var nobody = await closed.SendAsync(Delivery($"http://127.0.0.1:{SiloProcess.FreePort()}/"));
        Assert.False(nobody.Delivered);
        Assert.Contains("could not connect", nobody.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Retries_wait_twice_as_long_each_time_up_to_the_longest_wait_less_up_to_a_fifth()
    {
        var options = new WebhookOptions { RetryBase = TimeSpan.FromSeconds(10), MaxRetryDelay = TimeSpan.FromMinutes(1) };
        Assert.Equal([10, 20, 40, 60, 60], Enumerable.Range(1, 5).Select(a => options.RetryDelay(a, 0).TotalSeconds));
        Assert.Equal(8, options.RetryDelay(1, 1).TotalSeconds, 6);
        Assert.Equal(48, options.RetryDelay(9, 1).TotalSeconds, 6);
    }
}
