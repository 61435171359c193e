using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Apex.Grains.Webhooks;

namespace Apex.Silo.Tests;

/// <summary>Webhooks end to end: a real host delivers to a receiver in the test, through failures and a crash of the host.</summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private static readonly string[] Settings =
    [
        "--Apex:SyntheticDemo=true", "--Apex:Webhooks:AllowLoopback=true", "--Apex:Webhooks:RetryBase=00:00:00.300", "--Apex:Webhooks:MaxRetryDelay=00:00:01",
        "--Apex:Webhooks:Poll=00:00:00.200",
    ];

    private readonly string _data = Directory.CreateTempSubdirectory("apex-webhook-data-").FullName;
    private readonly string _media = Directory.CreateTempSubdirectory("apex-webhook-media-").FullName;
    private WebhookReceiver _receiver = null!;
    private SiloProcess _silo = null!;

    public async Task InitializeAsync()
    {
        _receiver = WebhookReceiver.Start();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_media, "trumpet.ogg"));
        _silo = await SiloProcess.StartAsync(_data, _media, Settings);
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _receiver.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_media, recursive: true);
    }

    [Fact]
    public async Task Targets_a_delivery_may_not_reach_and_unknown_types_are_refused_at_subscription()
    {
        foreach (var (body, field) in new[]
        {
            ("""{"url":"http://169.254.169.254/latest/meta-data/","types":["scored"]}""", "url"),
            ("""{"url":"http://0.0.0.0:8080/","types":["scored"]}""", "url"),
            ("""{"url":"ftp://hooks.example.com/","types":["scored"]}""", "url"),
            ("""{"url":"http://user:pw@hooks.example.com/","types":["scored"]}""", "url"),
            ("""{"types":["scored"]}""", "url"),
            ($$"""{"url":"{{_receiver.Url}}","types":["plays"]}""", "types"),
            ($$"""{"url":"{{_receiver.Url}}","types":[]}""", "types"),
            ($$"""{"url":"{{_receiver.Url}}","types":["scored"],"platforms":["a b"]}""", "platforms"),
        })
        {
            var response = await _silo.Http.PostAsync(new Uri("/subscriptions", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty(field, out _), body);
        }

        Assert.Equal("[]", await _silo.Http.GetStringAsync(new Uri("/subscriptions", UriKind.Relative)));
        // Subscriptions are the admin's: a reader key cannot make one.
        var reader = JsonDocument.Parse(await (await _silo.Http.PostAsJsonAsync(new Uri("/keys", UriKind.Relative), new { role = "reader" })).Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString();
        using var readerClient = _silo.ClientWith(reader);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.PostAsJsonAsync(new Uri("/subscriptions", UriKind.Relative), new { url = _receiver.Url, types = new[] { "scored" } })).StatusCode);
    }

    [Fact]
    public async Task Deliveries_are_signed_retried_after_failures_and_none_is_lost_across_a_crash_of_the_host()
    {
        var created = await _silo.Http.PostAsJsonAsync(new Uri("/subscriptions", UriKind.Relative), new { url = _receiver.Url, types = new[] { "scored" }, platforms = new[] { "suno" }, description = "suno scores" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var subscription = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var (id, secret) = (subscription.GetProperty("id").GetString()!, subscription.GetProperty("secret").GetString()!);
        Assert.DoesNotContain(secret, await _silo.Http.GetStringAsync(new Uri("/subscriptions", UriKind.Relative)), StringComparison.Ordinal);

        // A second subscription whose receiver is down must not hold the first one up.
        var dead = await _silo.Http.PostAsJsonAsync(new Uri("/subscriptions", UriKind.Relative), new { url = $"http://127.0.0.1:{SiloProcess.FreePort()}/down", types = new[] { "scored" } });
        var deadId = JsonDocument.Parse(await dead.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        // The receiver fails each delivery's first two attempts.
        var attempts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        _receiver.Answer = r => Task.FromResult(attempts.AddOrUpdate(r.DeliveryId ?? "", 1, (_, n) => n + 1) <= 2 ? 500 : 200);
        await RegisterAsync("hook-1", "suno");
        await RegisterAsync("hook-2", "suno");
        await RegisterAsync("hook-other", "udio");
        await _receiver.WaitForAsync(r => Delivered(r).Count == 2, TimeSpan.FromMinutes(2), "two deliveries");

        foreach (var group in _receiver.Requests.GroupBy(r => r.DeliveryId))
        {
            Assert.Equal([("1", 500), ("2", 500), ("3", 200)], group.Select(r => (r.Attempt!, r.Answered)));
            Assert.All(group, r => Assert.True(WebhookSignature.Verify(secret, r.Signature, r.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), "a bad signature"));
            var body = JsonDocument.Parse(group.First().Body).RootElement;
            Assert.Equal((group.Key, id, "scored", "suno"), (body.GetProperty("delivery_id").GetString(), body.GetProperty("subscription_id").GetString(), body.GetProperty("type").GetString(), body.GetProperty("platform").GetString()));
            Assert.All(group, r => Assert.Equal(group.First().Body, r.Body));
        }

        var deliveries = await DeliveriesAsync(id);
        Assert.Equal(2, deliveries.Count);
        List<JsonElement> down;
        var until = DateTime.UtcNow.AddMinutes(1);
        while ((down = await DeliveriesAsync(deadId)).Count < 3 && DateTime.UtcNow < until)
        {
            await Task.Delay(200);
        }

        Assert.Equal(3, down.Count); // every platform's, the udio track's too
        Assert.All(down, d => Assert.Equal("pending", d.GetProperty("status").GetString()));
        Assert.Contains(down, d => d.GetProperty("last_error").GetString()?.StartsWith("could not connect", StringComparison.Ordinal) == true);
        Assert.Equal(HttpStatusCode.NoContent, (await _silo.Http.DeleteAsync(new Uri($"/subscriptions/{deadId}", UriKind.Relative))).StatusCode);
        Assert.All(deliveries, d => Assert.Equal(("delivered", 3, 200), (d.GetProperty("status").GetString(), d.GetProperty("attempts").GetInt32(), d.GetProperty("last_status_code").GetInt32())));

        // The receiver goes down; a third track is scored and its delivery fails; the host crashes.
        _receiver.Answer = _ => Task.FromResult(503);
        await RegisterAsync("hook-3", "suno");
        await _receiver.WaitForAsync(r => r.Any(x => x.Answered == 503), TimeSpan.FromMinutes(2), "the third delivery's first attempt");
        await _silo.KillAsync();
        _receiver.Answer = _ => Task.FromResult(200);
        _silo = await SiloProcess.StartAsync(_data, _media, Settings);
        await _receiver.WaitForAsync(r => Delivered(r).Count == 3, TimeSpan.FromMinutes(2), "the third delivery after the restart");

        // Every suno track scored reached the receiver, under the ids the host lists, and nothing else did.
        var tracks = Delivered(_receiver.Requests).Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("data").GetProperty("track_id").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(["hook-1", "hook-2", "hook-3"], tracks);
        deliveries = await DeliveriesAsync(id);
        Assert.Equal(Delivered(_receiver.Requests).Select(r => r.DeliveryId).Order(StringComparer.Ordinal), deliveries.Select(d => d.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
        Assert.All(deliveries, d => Assert.Equal("delivered", d.GetProperty("status").GetString()));

        // A delivery can be sent again, with the same id, signed by a rotated secret and (during its grace) the old one.
        var rotated = await _silo.Http.PostAsJsonAsync(new Uri($"/subscriptions/{id}/rotate-secret", UriKind.Relative), new { grace_seconds = 3600 });
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var newSecret = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
        var again = deliveries[0].GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.Accepted, (await _silo.Http.PostAsync(new Uri($"/subscriptions/{id}/deliveries/{again}/redeliver", UriKind.Relative), null)).StatusCode);
        var resent = (await _receiver.WaitForAsync(r => r.Count(x => x.DeliveryId == again && x.Answered == 200) == 2, TimeSpan.FromMinutes(1), "the delivery sent again")).Last(x => x.DeliveryId == again);
        Assert.All(new[] { newSecret, secret }, s => Assert.True(WebhookSignature.Verify(s, resent.Signature, resent.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5))));
        Assert.Equal(HttpStatusCode.BadRequest, (await _silo.Http.PostAsJsonAsync(new Uri($"/subscriptions/{id}/rotate-secret", UriKind.Relative), new { grace_seconds = -1 })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _silo.Http.GetAsync(new Uri($"/subscriptions/{id}/deliveries?status=lost", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _silo.Http.DeleteAsync(new Uri($"/subscriptions/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _silo.Http.GetAsync(new Uri($"/subscriptions/{id}/deliveries", UriKind.Relative))).StatusCode);
    }

    private static List<WebhookReceiver.Received> Delivered(IReadOnlyList<WebhookReceiver.Received> requests) =>
        requests.Where(r => r.Answered == 200).DistinctBy(r => r.DeliveryId).ToList();

    private async Task RegisterAsync(string track, string platform)
    {
        var body = $$"""{"track_id":"{{track}}","platform":"{{platform}}","created_at":"2026-11-01T00:00:00Z","audio_path":"trumpet.ogg"}""";
        Assert.Equal(HttpStatusCode.Created, (await _silo.Http.PostAsync(new Uri("/tracks", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode);
    }

    private async Task<List<JsonElement>> DeliveriesAsync(string subscription) =>
        JsonDocument.Parse(await _silo.Http.GetStringAsync(new Uri($"/subscriptions/{subscription}/deliveries", UriKind.Relative))).RootElement.EnumerateArray().ToList();
}
