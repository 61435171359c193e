using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Apex.Silo.Tests;

/// <summary>
/// A catalogue waits for the backfill, in registration order, a few tracks at a time: a track registered
/// live is scored while the catalogue is queued, and an admin pauses and resumes the backfill.
/// </summary>
public sealed class BackfillTests : IAsyncLifetime
{
    private const int Catalogue = 150;

    private readonly string _data = Directory.CreateTempSubdirectory("apex-backfill-data-").FullName;
    private readonly string _media = Directory.CreateTempSubdirectory("apex-backfill-media-").FullName;
    private SiloProcess _silo = null!;

    private HttpClient Http => _silo.Http;

    public async Task InitializeAsync()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_media, "trumpet.ogg"));
        _silo = await SiloProcess.StartAsync(_data, _media, $"--Apex:ModelsDir={await SiloProcess.ModelsAsync()}", "--Apex:Backfill:MaxInFlight=2", "--Apex:Backfill:InFlightWhileLive=1");
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_media, recursive: true);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<JsonElement> GetAsync(string path) => JsonDocument.Parse(await Http.GetStringAsync(new Uri(path, UriKind.Relative))).RootElement;

    private async Task<JsonElement> PostAsync(string path, string body = "")
    {
        var response = await Http.PostAsync(new Uri(path, UriKind.Relative), Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private async Task<string> StatusAsync(string track) => (await GetAsync($"/tracks/{track}")).GetProperty("scoring").GetProperty("status").GetString()!;

    private async Task WaitScoredAsync(string track, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (await StatusAsync(track) != "scored")
        {
            Assert.True(clock.Elapsed < limit, $"{track} was not scored within {limit}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Live_tracks_are_scored_while_a_catalogue_waits_and_the_backfill_pauses_and_resumes()
    {
        Assert.True((await PostAsync("/backfill/pause")).GetProperty("paused").GetBoolean());
        var tracks = string.Join(",", Enumerable.Range(0, Catalogue).Select(i => $$"""{"track_id":"cat-{{i:D3}}","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","streams":{{i}}}"""));
        Assert.Equal(Catalogue, (await PostAsync("/tracks/batch", $$"""{"tracks":[{{tracks}}]}""")).GetProperty("created").GetInt32());

        // Paused: nothing is admitted; queued tracks are rows, and they say why they wait.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var paused = await GetAsync("/backfill");
        Assert.Equal((Catalogue, 0, 0L), (paused.GetProperty("queued").GetInt32(), paused.GetProperty("in_flight").GetInt32(), paused.GetProperty("admitted").GetInt64()));
        Assert.StartsWith("backfill", (await GetAsync("/tracks/cat-000")).GetProperty("scoring").GetProperty("error").GetString(), StringComparison.Ordinal);

        // A track registered live is scored at once, paused backfill or not.
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json("""{"track_id":"live-1","platform":"suno","created_at":"2026-11-30T00:00:00Z","audio_path":"trumpet.ogg"}"""))).StatusCode);
        await WaitScoredAsync("live-1", TimeSpan.FromSeconds(120));
        Assert.Equal(Catalogue, (await GetAsync("/backfill")).GetProperty("queued").GetInt32());

        // Resumed: the catalogue progresses in registration order, and a new live track still goes first.
        Assert.False((await PostAsync("/backfill/resume")).GetProperty("paused").GetBoolean());
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json("""{"track_id":"live-2","platform":"suno","created_at":"2026-11-30T00:00:00Z","audio_path":"trumpet.ogg"}"""))).StatusCode);
        await WaitScoredAsync("live-2", TimeSpan.FromSeconds(120));
        var during = await GetAsync("/backfill");
        Assert.True(during.GetProperty("queued").GetInt32() > Catalogue / 2, $"the live track waited for the catalogue: {during}");
        await WaitScoredAsync("cat-000", TimeSpan.FromSeconds(120));
        await WaitScoredAsync("cat-001", TimeSpan.FromSeconds(120));
        Assert.Equal("queued", await StatusAsync($"cat-{Catalogue - 1:D3}"));
        var progressed = await GetAsync("/backfill");
        Assert.True(progressed.GetProperty("admitted").GetInt64() >= 2);
        Assert.True(progressed.GetProperty("in_flight").GetInt32() <= 2, $"{progressed}");

        // Paused again: admission stops, what was admitted finishes.
        await PostAsync("/backfill/pause");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var stopped = (await GetAsync("/backfill")).GetProperty("queued").GetInt32();
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(stopped, (await GetAsync("/backfill")).GetProperty("queued").GetInt32());
        using var anonymous = _silo.ClientWith(null);
        var metrics = await anonymous.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Matches($"apex_backfill_queued(\\{{[^}}]*\\}})? {stopped}\\b", metrics);
        Assert.Matches("apex_scoring_finished_total\\{[^}]*priority=\"backfill\"", metrics);
        Assert.Matches("apex_scoring_finished_total\\{[^}]*priority=\"live\"", metrics);
        Assert.Matches("apex_scoring_queued\\{[^}]*priority=\"backfill\"", metrics);
        Assert.Matches("apex_scoring_oldest_wait_seconds\\{[^}]*priority=\"live\"[^}]*\\} 0\\b", metrics);
        var ready = JsonDocument.Parse(await anonymous.GetStringAsync(new Uri("/health/ready", UriKind.Relative))).RootElement.GetProperty("checks").GetProperty("silo").GetProperty("data");
        Assert.Equal((stopped, true, 0), (ready.GetProperty("backfill_queued").GetInt32(), ready.GetProperty("backfill_paused").GetBoolean(), ready.GetProperty("queued_live").GetInt32()));
    }
}
