using System.Net;
using System.Text;
using System.Text.Json;

namespace Apex.Silo.Tests;

public sealed class AuthTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-auth-data-").FullName;
    private SiloProcess _silo = null!;

    public async Task InitializeAsync() => _silo = await SiloProcess.StartAsync(_data, _data, "--Apex:RequestsPerSecondPerKey=1", "--Apex:BurstPerKey=40");

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private async Task<string> CreateKeyAsync(string role)
    {
        var response = await _silo.Http.PostAsync(new Uri("/keys", UriKind.Relative), new StringContent($$"""{"role":"{{role}}","name":"test {{role}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString()!;
    }

    private static Task<HttpResponseMessage> Send(HttpClient client, string method, string path) =>
        client.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative))
        {
            Content = method == "POST" ? new StringContent(path == "/events" ? """{"events":[{"event_id":"1","track_id":"none","kind":"stream"}]}""" : """{"role":"reader"}""", Encoding.UTF8, "application/json") : null,
        });

    [Fact]
    public async Task Each_route_demands_its_role_401_without_a_valid_key_403_with_a_weaker_one()
    {
        var reader = await CreateKeyAsync("reader");
        var ingest = await CreateKeyAsync("ingest");
        // route, role needed
        (string Method, string Path, string Role)[] routes = [("GET", "/tracks/x", "reader"), ("POST", "/events", "ingest"), ("POST", "/keys", "admin")];
        var keys = new Dictionary<string, string?> { ["none"] = null, ["bogus"] = "apex_bogus_key_that_is_long_enough", ["reader"] = reader, ["ingest"] = ingest, ["admin"] = SiloProcess.AdminKey };
        string[] rank = ["reader", "ingest", "admin"];

        foreach (var (method, path, role) in routes)
        {
            foreach (var (holder, key) in keys)
            {
                using var client = _silo.ClientWith(key);
                var status = (await Send(client, method, path)).StatusCode;
                var expected = key is null || holder == "bogus" ? HttpStatusCode.Unauthorized
                    : Array.IndexOf(rank, holder) < Array.IndexOf(rank, role) ? HttpStatusCode.Forbidden
                    : (HttpStatusCode?)null;
                if (expected is { } e)
                {
                    Assert.True(status == e, $"{method} {path} with {holder}: {status}, expected {e}");
                }
                else
                {
                    Assert.True(status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {path} with {holder}: {status}");
                }
            }
        }

        using var anonymous = _silo.ClientWith(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/health", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_key_past_its_rate_gets_429_with_retry_after()
    {
        var reader = await CreateKeyAsync("reader");
        using var client = _silo.ClientWith(reader);

        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 45; i++)
        {
            statuses.Add(await client.GetAsync(new Uri("/tracks/x", UriKind.Relative)));
        }

        var limited = statuses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        // Another key is not limited by this one's traffic.
        Assert.Equal(HttpStatusCode.NotFound, (await _silo.Http.GetAsync(new Uri("/tracks/x", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task The_orleans_dashboard_is_served_to_admins_only()
    {
        var reader = await CreateKeyAsync("reader");
        using var anonymous = _silo.ClientWith(null);
        using var readerClient = _silo.ClientWith(reader);

        var admin = await _silo.Http.GetAsync(new Uri("/dashboard", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        Assert.Contains("<html", await admin.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/dashboard", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.GetAsync(new Uri("/dashboard", UriKind.Relative))).StatusCode);
    }
}
