using System.Net;
using System.Text;
using System.Text.Json;

namespace Apex.Silo.Tests;

/// <summary>POST /tracks/batch: per-track outcomes, initial counts as events, idempotent re-sends, and tracks that wait for the backfill.</summary>
public sealed class CatalogueApiTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-catalogue-data-").FullName;
    private readonly string _media = Directory.CreateTempSubdirectory("apex-catalogue-media-").FullName;
    private SiloProcess _silo = null!;

    private HttpClient Http => _silo.Http;

    public async Task InitializeAsync()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_media, "trumpet.ogg"));
        _silo = await SiloProcess.StartAsync(_data, _media);
        // Scoring is BackfillTests' subject: here catalogued tracks stay as registered.
        (await Http.PostAsync(new Uri("/backfill/pause", UriKind.Relative), null)).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_media, recursive: true);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<JsonElement> BatchAsync(string tracks, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await Http.PostAsync(new Uri("/tracks/batch", UriKind.Relative), Json($$"""{"tracks":[{{tracks}}]}"""));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private async Task<JsonElement> TrackAsync(string id) =>
        JsonDocument.Parse(await Http.GetStringAsync(new Uri($"/tracks/{id}", UriKind.Relative))).RootElement;

    private static string[] Outcomes(JsonElement answer) =>
        [.. answer.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("outcome").GetString()!)];

    [Fact]
    public async Task A_batch_answers_per_track_and_its_initial_counts_count_once()
    {
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json("""{"track_id":"live","platform":"udio","created_at":"2026-10-01T00:00:00Z","audio_path":"trumpet.ogg"}"""))).StatusCode);
        const string batch = """
            {"track_id":"c1","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","streams":120000,"likes":900,"counts_at":"2026-11-30T00:00:00Z"},
            {"track_id":"c2","platform":"suno","created_at":"2025-02-01T00:00:00Z","audio_path":"trumpet.ogg","system":"suno-v4","streams":10},
            {"track_id":"c1","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","streams":120000,"likes":900,"counts_at":"2026-11-30T00:00:00Z"},
            {"track_id":"bad/id","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg"},
            {"track_id":"c3","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"missing.ogg"},
            {"track_id":"c4","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","streams":-1},
            null,
            {"track_id":"live","platform":"suno","created_at":"2026-10-01T00:00:00Z","audio_path":"trumpet.ogg"}
            """;
        var first = await BatchAsync(batch);

        Assert.Equal(["created", "created", "same", "rejected", "rejected", "rejected", "rejected", "conflict"], Outcomes(first));
        Assert.Equal((2, 1, 1, 4), (first.GetProperty("created").GetInt32(), first.GetProperty("same").GetInt32(), first.GetProperty("conflict").GetInt32(), first.GetProperty("rejected").GetInt32()));
        var reasons = first.GetProperty("items").EnumerateArray().Select(i => i.TryGetProperty("reason", out var r) ? r.GetString() : null).ToList();
        Assert.StartsWith("track_id:", reasons[3], StringComparison.Ordinal);
        Assert.StartsWith("audio_path:", reasons[4], StringComparison.Ordinal);
        Assert.StartsWith("streams, likes:", reasons[5], StringComparison.Ordinal);

        // The catalogue's counts are the track's, and its population's: c1 outranks c2.
        var c1 = await TrackAsync("c1");
        Assert.Equal((120000L, 900L), (c1.GetProperty("streams").GetInt64(), c1.GetProperty("likes").GetInt64()));
        Assert.Equal(2, c1.GetProperty("popularity").GetProperty("tracks_with_streams").GetInt32());
        Assert.Equal("queued", c1.GetProperty("scoring").GetProperty("status").GetString());
        Assert.StartsWith("backfill", c1.GetProperty("scoring").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("suno-v4", (await TrackAsync("c2")).GetProperty("system").GetString());
        var listing = JsonDocument.Parse(await Http.GetStringAsync(new Uri("/platforms/suno/tracks?sort=streams", UriKind.Relative))).RootElement;
        Assert.Equal(["c1", "c2"], listing.EnumerateArray().Select(t => t.GetProperty("track_id").GetString()));

        // Sent again: the same, counted once; other counts or details are conflicts that change nothing.
        Assert.Equal(["same", "same"], Outcomes(await BatchAsync(
            """{"track_id":"c1","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","streams":120000,"likes":900,"counts_at":"2026-11-30T00:00:00Z"},{"track_id":"c2","platform":"suno","created_at":"2025-02-01T00:00:00Z","audio_path":"trumpet.ogg","system":"suno-v4","streams":10}""")));
        Assert.Equal(["conflict", "conflict"], Outcomes(await BatchAsync(
            """{"track_id":"c1","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","streams":999,"likes":900,"counts_at":"2026-11-30T00:00:00Z"},{"track_id":"c2","platform":"suno","created_at":"2025-02-01T00:00:00Z","audio_path":"trumpet.ogg","system":"udio-v1","streams":10}""")));
        c1 = await TrackAsync("c1");
        Assert.Equal((120000L, 900L), (c1.GetProperty("streams").GetInt64(), c1.GetProperty("likes").GetInt64()));
        Assert.Equal("suno-v4", (await TrackAsync("c2")).GetProperty("system").GetString());

        // One by one, a catalogued track is the same registration, or a 409 with other details.
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json("""{"track_id":"c2","platform":"suno","created_at":"2025-02-01T00:00:00Z","audio_path":"trumpet.ogg","system":"suno-v4"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json("""{"track_id":"c2","platform":"udio","created_at":"2025-02-01T00:00:00Z","audio_path":"trumpet.ogg"}"""))).StatusCode);
    }

    [Theory]
    [InlineData("""{"tracks":[]}""", "tracks")]
    [InlineData("""{"tracks":[{"track_id":"x","platform":"suno","created_at":"2025-01-01T00:00:00","audio_path":"trumpet.ogg"}]}""", "tracks[0].created_at")]
    [InlineData("""{"tracks":[{"track_id":"x","platform":"suno","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","stream":5}]}""", "tracks[0].stream")]
    public async Task A_malformed_batch_is_refused_whole_naming_the_field(string body, string field)
    {
        var response = await Http.PostAsync(new Uri("/tracks/batch", UriKind.Relative), Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty(field, out _), field);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/x", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Ten_thousand_tracks_register_in_one_request_and_more_are_refused()
    {
        var tracks = string.Join(",", Enumerable.Range(0, 10_000).Select(i => $$"""{"track_id":"bulk-{{i}}","platform":"bulk","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg","streams":{{i + 1}}}"""));
        var answer = await BatchAsync(tracks);
        Assert.Equal(10_000, answer.GetProperty("created").GetInt32());
        var top = JsonDocument.Parse(await Http.GetStringAsync(new Uri("/platforms/bulk/tracks?sort=streams&limit=1", UriKind.Relative))).RootElement[0];
        Assert.Equal(("bulk-9999", 10_000L), (top.GetProperty("track_id").GetString(), top.GetProperty("streams").GetInt64()));

        await BatchAsync(tracks + """,{"track_id":"one-more","platform":"bulk","created_at":"2025-01-01T00:00:00Z","audio_path":"trumpet.ogg"}""", HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/one-more", UriKind.Relative))).StatusCode);
    }
}
