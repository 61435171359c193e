using System.Net;
using System.Text;

namespace Apex.Silo.Tests;

public sealed class StreamTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-stream-data-").FullName;
    private readonly string _media = Directory.CreateTempSubdirectory("apex-stream-media-").FullName;
    private SiloProcess _silo = null!;

    private sealed record ServerEvent(long Id, string Type, string Data);

    public async Task InitializeAsync()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_media, "trumpet.ogg"));
        _silo = await SiloProcess.StartAsync(_data, _media, "--Apex:SyntheticDemo=true");
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_media, recursive: true);
    }

    [Fact]
    public async Task The_stream_sends_each_scored_track_a_client_that_reconnects_gets_what_followed_its_last_event_id_and_a_revoked_key_ends_it()
    {
        using var live = await OpenAsync("/stream?types=scored&platform=suno");
        foreach (var id in new[] { "sse-1", "sse-2" })
        {
            var body = $$"""{"track_id":"{{id}}","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"trumpet.ogg"}""";
            Assert.Equal(HttpStatusCode.Created, (await _silo.Http.PostAsync(new Uri("/tracks", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode);
        }

        var scored = await ReadAsync(live, 2);
        Assert.All(scored, e => Assert.Equal("scored", e.Type));
        Assert.Equal(["sse-1", "sse-2"], scored.Select(e => System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("track_id").GetString()).Order(StringComparer.Ordinal));
        Assert.True(scored[0].Id < scored[1].Id);

        // A dropped connection loses nothing: resumed after the first event, the second comes first.
        using var resumed = await OpenAsync("/stream?types=scored", lastEventId: scored[0].Id);
        Assert.Equal(scored[1], (await ReadAsync(resumed, 1))[0]);

        // A promoted model is an event too (each rollout once), on no platform.
        var serving = System.Text.Json.JsonDocument.Parse(await _silo.Http.GetStringAsync(new Uri("/models", UriKind.Relative))).RootElement.GetProperty("serving").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await _silo.Http.PostAsync(new Uri($"/models/{serving}/promote", UriKind.Relative), null)).StatusCode);
        using var promotions = await OpenAsync("/stream?types=model_promoted&last_event_id=0");
        var promoted = (await ReadAsync(promotions, 1))[0];
        Assert.Equal(serving, System.Text.Json.JsonDocument.Parse(promoted.Data).RootElement.GetProperty("version").GetString());
        Assert.True(promoted.Id > scored[1].Id);

        foreach (var query in new[] { "/stream?types=plays", "/stream?platform=a%20b", "/stream?last_event_id=-3" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await _silo.Http.GetAsync(new Uri(query, UriKind.Relative))).StatusCode);
        }

        // A stream ends soon after its key is revoked.
        var created = await _silo.Http.PostAsync(new Uri("/keys", UriKind.Relative), new StringContent("""{"role":"reader","name":"wall"}""", Encoding.UTF8, "application/json"));
        var key = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        using var reader = _silo.ClientWith(key.GetProperty("key").GetString());
        using var response = await reader.GetAsync(new Uri("/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var revoked = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await _silo.Http.DeleteAsync(new Uri($"/keys/{key.GetProperty("id").GetString()}", UriKind.Relative))).StatusCode);
        using var ends = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await revoked.ReadLineAsync(ends.Token) is not null)
        {
        }
    }

    private async Task<StreamReader> OpenAsync(string path, long? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var response = await _silo.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new StreamReader(await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next <paramref name="count"/> events (comments and the retry hint skipped); scoring a track takes seconds.</summary>
    private static async Task<List<ServerEvent>> ReadAsync(StreamReader stream, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var events = new List<ServerEvent>();
        var (id, type, data) = (0L, "", "");
        while (events.Count < count)
        {
            var line = await stream.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("The stream ended.");
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    events.Add(new ServerEvent(id, type, data));
                }

                (id, type, data) = (0L, "", "");
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return events;
    }
}
