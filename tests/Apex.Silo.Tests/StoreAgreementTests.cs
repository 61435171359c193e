using System.Net;
using System.Text;
using System.Text.Json;
using Apex.Grains.Storage;

namespace Apex.Silo.Tests;

/// <summary>
/// A lost ingest log is never served from: deleted between runs, the host refuses to start (exit 3,
/// naming the store and the way out) until a repair puts the registered tracks back; deleted while the
/// host runs, nothing more is acknowledged (503) and readiness fails.
/// </summary>
public sealed class StoreAgreementTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-stores-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Samples => Path.Combine(AppContext.BaseDirectory, "samples");

    private static Task<HttpResponseMessage> RegisterAsync(SiloProcess silo, string id) =>
        silo.Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json($$"""{"track_id":"{{id}}","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"macleod-vibe-ace.ogg"}"""));

    private static Task<HttpResponseMessage> EventAsync(SiloProcess silo, string track, string id, int count) =>
        silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json($$"""{"events":[{"event_id":"{{id}}","track_id":"{{track}}","kind":"stream","count":{{count}}}]}"""));

    private void DeleteIngestLog()
    {
        foreach (var file in Directory.GetFiles(_data, LocalStores.Ingest.File + "*"))
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_ingest_log_lost_between_runs_stops_the_host_until_a_repair_puts_the_tracks_back()
    {
        await using (var silo = await SiloProcess.StartAsync(_data, Samples))
        {
            Assert.Equal(HttpStatusCode.Created, (await RegisterAsync(silo, "kept")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await EventAsync(silo, "kept", "e1", 5)).StatusCode);
            Assert.Equal(0, await silo.StopAsync());
        }

        Assert.True((await StoreAgreement.CheckLocalAsync(_data)).Agree);
        DeleteIngestLog();

        var (exit, error) = await SiloProcess.RunToExitAsync($"--Apex:DataDir={_data}", $"--Apex:MediaRoot={Samples}", "--Apex:SyntheticDemo=false");

        Assert.Equal(3, exit);
        Assert.Contains("ingest.db", error, StringComparison.Ordinal);
        Assert.Contains("apex db repair", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_data, LocalStores.Ingest.File)), "the refused start created an empty ingest log");

        var repaired = await StoreAgreement.RepairLocalAsync(_data);
        Assert.Equal(1, repaired.TracksReRegistered);
        Assert.Contains(repaired.Lost, l => l.Contains("ingest.db", StringComparison.Ordinal));

        await using (var silo = await SiloProcess.StartAsync(_data, Samples))
        {
            var track = JsonDocument.Parse(await silo.Http.GetStringAsync(new Uri("/tracks/kept", UriKind.Relative))).RootElement;
            Assert.Equal(0, track.GetProperty("streams").GetInt64());
            var accepted = await EventAsync(silo, "kept", "e2", 3);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            Assert.Equal(1, JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());
        }
    }

    [Fact]
    public async Task An_ingest_log_deleted_while_the_host_runs_is_not_acknowledged_and_fails_readiness()
    {
        await using var silo = await SiloProcess.StartAsync(_data, Samples);
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync(silo, "t")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await EventAsync(silo, "t", "before", 1)).StatusCode);

        DeleteIngestLog();
        var refused = await EventAsync(silo, "t", "after", 1);
        var ready = await silo.Http.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var live = await silo.Http.GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
