using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Apex.Silo.Tests;

/// <summary>
/// Start-up and shutdown order of the real host process: no request reaches a grain before the silo is
/// active, and SIGTERM (as Kubernetes stops a pod) lets requests in flight finish before the silo leaves,
/// with nothing acknowledged lost and nothing but retryable answers for the clients.
/// </summary>
public sealed class ShutdownTests : IAsyncLifetime
{
    private const string Trumpet = "sorohan-solo-trumpet-06.ogg";
    private readonly string _data = Directory.CreateTempSubdirectory("apex-shutdown-data-").FullName;
    private readonly string _media = Directory.CreateTempSubdirectory("apex-shutdown-media-").FullName;
    private readonly string[] _tracks = ["d-0", "d-1", "d-2", "d-3"];

    public Task InitializeAsync()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", Trumpet), Path.Combine(_media, Trumpet));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_media, recursive: true);
        return Task.CompletedTask;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private sealed record Batch(string Json, IReadOnlyDictionary<string, long> Streams, int Events);

    private Batch MakeBatch(int sender, int number)
    {
        var events = Enumerable.Range(0, 40).Select(i => (Id: $"s{sender}-{number}-{i}", Track: _tracks[(number + i) % _tracks.Length], Count: 1 + ((sender + number + i) % 3))).ToList();
        var json = "{\"events\":[" + string.Join(',', events.Select(e => $$"""{"event_id":"{{e.Id}}","track_id":"{{e.Track}}","kind":"stream","count":{{e.Count}}}""")) + "]}";
        return new Batch(json, events.GroupBy(e => e.Track).ToDictionary(g => g.Key, g => g.Sum(e => (long)e.Count)), events.Count);
    }

    [Fact]
    public async Task No_request_reaches_a_grain_before_the_silo_is_active_and_sigterm_drains_requests_in_flight_before_the_silo_leaves()
    {
        var models = await SiloProcess.ModelsAsync();
        string[] settings = [$"--Apex:ModelsDir={models}", "--Apex:BurstPerKey=100000", "--Apex:RequestsPerSecondPerKey=100000"];

        // From the process's first moment: connection refused until it listens, then only answers of an active silo.
        await using var silo = SiloProcess.Launch(_data, _media, settings);
        var early = new List<HttpStatusCode>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (early.LastOrDefault() != HttpStatusCode.NotFound)
        {
            Assert.True(DateTime.UtcNow < deadline, "the host did not answer within 90 s: " + silo.Output);
            try
            {
                early.Add((await silo.Http.GetAsync(new Uri("/tracks/not-there", UriKind.Relative))).StatusCode);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(20);
            }
        }

        Assert.All(early, s => Assert.True(s is HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable, $"a request during start-up answered {s}"));

        foreach (var id in _tracks)
        {
            var track = $$"""{"track_id":"{{id}}","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"{{Trumpet}}"}""";
            Assert.Equal(HttpStatusCode.Created, (await silo.Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(track))).StatusCode);
        }

        // Three clients send batches until the host has gone; every answer is recorded.
        var sent = new ConcurrentBag<(Batch Batch, HttpStatusCode? Status, bool RetryAfter)>();
        using var gone = new CancellationTokenSource();
        var senders = Enumerable.Range(0, 3).Select(sender => Task.Run(async () =>
        {
            for (var number = 0; !gone.IsCancellationRequested; number++)
            {
                var batch = MakeBatch(sender, number);
                try
                {
                    using var response = await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(batch.Json));
                    sent.Add((batch, response.StatusCode, response.Headers.RetryAfter is not null));
                }
                catch (HttpRequestException)
                {
                    sent.Add((batch, null, false));
                    await Task.Delay(50);
                }
            }
        })).ToList();

        // An upload whose body is still arriving when SIGTERM comes: it is in flight, so it completes.
        var audio = await File.ReadAllBytesAsync(Path.Combine(_media, Trumpet));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("slow-upload"), "track_id" },
            { new StringContent("suno"), "platform" },
            { new StringContent("2026-11-01T00:00:00Z"), "created_at" },
            { new SlowContent(audio, TimeSpan.FromSeconds(3)), "file", "slow.ogg" },
        };
        while (sent.Count(s => s.Status == HttpStatusCode.OK) < 20)
        {
            await Task.Delay(50);
        }

        var upload = silo.Http.PostAsync(new Uri("/tracks/upload", UriKind.Relative), form);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(upload.IsCompleted, "the upload finished before SIGTERM; the test would prove nothing");
        var exit = await silo.StopAsync();
        await gone.CancelAsync();
        await Task.WhenAll(senders);

        Assert.Equal(0, exit);
        Assert.Equal(HttpStatusCode.Created, (await upload).StatusCode);
        // Clients saw acknowledgements, retryable 503s with Retry-After, or a closed connection: nothing else.
        Assert.All(sent.Where(s => s.Status is not null), s => Assert.True(
            s.Status == HttpStatusCode.OK || (s.Status == HttpStatusCode.ServiceUnavailable && s.RetryAfter), $"a batch answered {s.Status}"));
        var output = "\n" + silo.Output;
        foreach (var forbidden in new[] { "No active nodes are compatible", "\n   at ", "fail:", "crit:" })
        {
            var at = output.IndexOf(forbidden, StringComparison.Ordinal);
            Assert.True(at < 0, $"the host logged '{forbidden.Trim()}' while stopping:\n{output[Math.Max(0, at - 1500)..Math.Min(output.Length, at + 1500)]}");
        }

        // Started again on the same folder: every acknowledged batch is there (re-sent, all duplicates),
        // every other batch counts once when the client re-sends it, and the tracks are all scored.
        await using var again = await SiloProcess.StartAsync(_data, _media, settings);
        var expected = _tracks.ToDictionary(t => t, _ => 0L);
        foreach (var (batch, status, _) in sent)
        {
            var answer = await BodyAsync(await again.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(batch.Json)));
            if (status == HttpStatusCode.OK)
            {
                Assert.Equal((0, batch.Events), (answer.GetProperty("accepted").GetInt32(), answer.GetProperty("duplicate").GetInt32()));
            }

            foreach (var (track, streams) in batch.Streams)
            {
                expected[track] += streams;
            }
        }

        foreach (var id in _tracks)
        {
            Assert.Equal(expected[id], (await BodyAsync(await again.Http.GetAsync(new Uri($"/tracks/{id}", UriKind.Relative)))).GetProperty("streams").GetInt64());
        }

        var stored = await again.Http.GetAsync(new Uri("/tracks/slow-upload/audio", UriKind.Relative));
        Assert.Equal(audio, await stored.Content.ReadAsByteArrayAsync());
        deadline = DateTime.UtcNow.AddSeconds(120);
        foreach (var id in _tracks.Append("slow-upload"))
        {
            JsonElement scoring;
            while ((scoring = (await BodyAsync(await again.Http.GetAsync(new Uri($"/tracks/{id}", UriKind.Relative)))).GetProperty("scoring")).GetProperty("status").GetString() != "scored")
            {
                Assert.True(DateTime.UtcNow < deadline, $"{id} not scored after the restart: {scoring}");
                await Task.Delay(250);
            }
        }
    }

    /// <summary>A request body that trickles in over a given time, as from a slow client.</summary>
    private sealed class SlowContent(byte[] bytes, TimeSpan over) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            const int Pieces = 30;
            var size = (bytes.Length + Pieces - 1) / Pieces;
            for (var offset = 0; offset < bytes.Length; offset += size)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset)));
                await stream.FlushAsync();
                await Task.Delay(over / Pieces);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
