using System.Net;
using System.Text;
using System.Text.Json;

namespace Apex.Silo.Tests;

/// <summary>API keys are listed, revoked, rotated and expire, on a running host; unknown keys are throttled per address.</summary>
public sealed class KeyLifecycleTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-keys-life-").FullName;
    private SiloProcess _silo = null!;

    public async Task InitializeAsync() => _silo = await SiloProcess.StartAsync(_data, _data, "--Apex:BurstPerKey=200");

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(string Key, string Id)> CreateKeyAsync(string role, string extra = "")
    {
        var response = await _silo.Http.PostAsync(new Uri("/keys", UriKind.Relative), Json($$"""{"role":"{{role}}","name":"life {{role}}"{{extra}}}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (body.GetProperty("key").GetString()!, body.GetProperty("id").GetString()!);
    }

    private async Task<HttpStatusCode> ReadWithAsync(string key)
    {
        using var client = _silo.ClientWith(key);
        return (await client.GetAsync(new Uri("/platforms/suno/tracks", UriKind.Relative))).StatusCode;
    }

    /// <summary>Waits out the key cache's freshness (5 s) for a change to reach every request.</summary>
    private async Task<HttpStatusCode> EventuallyAsync(string key, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        while ((status = await ReadWithAsync(key)) != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        return status;
    }

    private async Task<JsonElement> ListedAsync(string id) =>
        JsonDocument.Parse(await _silo.Http.GetStringAsync(new Uri("/keys", UriKind.Relative))).RootElement.EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);

    [Fact]
    public async Task A_revoked_key_stops_working_within_seconds_and_the_last_admin_key_cannot_be_revoked()
    {
        var (key, id) = await CreateKeyAsync("reader");
        Assert.Equal(HttpStatusCode.OK, await ReadWithAsync(key));
        Assert.Equal("active", (await ListedAsync(id)).GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await _silo.Http.DeleteAsync(new Uri($"/keys/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _silo.Http.DeleteAsync(new Uri($"/keys/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await EventuallyAsync(key, HttpStatusCode.Unauthorized));
        var listed = await ListedAsync(id);
        Assert.Equal("revoked", listed.GetProperty("status").GetString());
        Assert.DoesNotContain("hash", listed.ToString(), StringComparison.OrdinalIgnoreCase);

        Assert.Equal(HttpStatusCode.NotFound, (await _silo.Http.DeleteAsync(new Uri("/keys/nosuchkey", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await _silo.Http.DeleteAsync(new Uri("/keys/bootstrap", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _silo.Http.GetAsync(new Uri("/keys", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_rotated_key_is_replaced_by_a_new_one_and_a_key_expires_when_it_says()
    {
        var (old, id) = await CreateKeyAsync("ingest");
        var rotated = await _silo.Http.PostAsync(new Uri($"/keys/{id}/rotate", UriKind.Relative), Json("""{"grace_seconds":0}"""));
        Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
        var body = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(id, body.GetProperty("replaces").GetString());
        Assert.Equal("ingest", body.GetProperty("role").GetString());
        Assert.Equal(HttpStatusCode.OK, await ReadWithAsync(body.GetProperty("key").GetString()!));
        Assert.Equal(HttpStatusCode.Unauthorized, await EventuallyAsync(old, HttpStatusCode.Unauthorized));
        Assert.Equal(HttpStatusCode.NotFound, (await _silo.Http.PostAsync(new Uri($"/keys/{id}/rotate", UriKind.Relative), Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _silo.Http.PostAsync(new Uri($"/keys/{body.GetProperty("id").GetString()}/rotate", UriKind.Relative), Json("""{"grace_seconds":-1}"""))).StatusCode);

        var soon = DateTimeOffset.UtcNow.AddSeconds(2).ToString("O");
        var (expiring, expiringId) = await CreateKeyAsync("reader", $$""","expires_at":"{{soon}}" """);
        Assert.Equal(HttpStatusCode.OK, await ReadWithAsync(expiring));
        Assert.Equal(HttpStatusCode.Unauthorized, await EventuallyAsync(expiring, HttpStatusCode.Unauthorized));
        Assert.Equal("expired", (await ListedAsync(expiringId)).GetProperty("status").GetString());

        var past = await _silo.Http.PostAsync(new Uri("/keys", UriKind.Relative), Json("""{"role":"reader","expires_at":"2020-01-01T00:00:00Z"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Contains("expires_at", await past.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
