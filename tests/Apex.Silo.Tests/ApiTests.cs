using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Apex.Silo.Tests;

public sealed class ApiTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-silo-data-").FullName;
    private readonly string _media = Directory.CreateTempSubdirectory("apex-silo-media-").FullName;
    private SiloProcess _silo = null!;

    private HttpClient Http => _silo.Http;

    public async Task InitializeAsync()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_media, "trumpet.ogg"));
        _silo = await SiloProcess.StartAsync(_data, _media, "--Apex:MaxEventsPerBatch=50");
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_media, recursive: true);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private Task<HttpResponseMessage> RegisterAsync(string id, string platform = "suno", string created = "2026-11-01T00:00:00Z", string audio = "trumpet.ogg") =>
        Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json($$"""{"track_id":"{{id}}","platform":"{{platform}}","created_at":"{{created}}","audio_path":"{{audio}}"}"""));

    private Task<HttpResponseMessage> EventsAsync(string json) => Http.PostAsync(new Uri("/events", UriKind.Relative), Json(json));

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Registration_is_idempotent_and_conflicts_are_409_problems()
    {
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync("t1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await RegisterAsync("t1")).StatusCode);

        var conflict = await RegisterAsync("t1", platform: "udio");

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
        Assert.Contains("already registered", (await BodyAsync(conflict)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task System_and_prompt_are_kept_validated_and_part_of_what_a_repeat_must_match()
    {
        const string Body = """{"track_id":"sp1","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"trumpet.ogg","system":"  suno-v4 ","prompt":"lo-fi hip hop about a night drive"}""";
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(Body))).StatusCode);
        var track = await BodyAsync(await Http.GetAsync(new Uri("/tracks/sp1", UriKind.Relative)));
        Assert.Equal(("suno-v4", "lo-fi hip hop about a night drive"), (track.GetProperty("system").GetString(), track.GetProperty("prompt").GetString()));
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(Body))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(Body.Replace("suno-v4", "udio-v1", StringComparison.Ordinal)))).StatusCode);

        foreach (var (field, value) in new[] { ("system", "\"   \""), ("system", "\"a\\u0007b\""), ("system", $"\"{new string('s', 201)}\""), ("prompt", $"\"{new string('p', 2001)}\""), ("prompt", "\"line\\nbreak\"") })
        {
            var bad = await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json($$"""{"track_id":"sp2","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"trumpet.ogg","{{field}}":{{value}}}"""));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.True((await BodyAsync(bad)).GetProperty("errors").TryGetProperty(field, out _), $"{field} = {value}");
        }

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/sp2", UriKind.Relative))).StatusCode);
    }

    private async Task<HttpResponseMessage> UploadAsync(string id, string platform, byte[]? file, string fileName = "song.ogg", string? system = null)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(id), "track_id" },
            { new StringContent(platform), "platform" },
            { new StringContent("2026-11-01T00:00:00Z"), "created_at" },
        };
        if (system is not null)
        {
            form.Add(new StringContent(system), "system");
            form.Add(new StringContent("a prompt"), "prompt");
        }

        if (file is not null)
        {
            form.Add(new ByteArrayContent(file), "file", fileName);
        }

        return await Http.PostAsync(new Uri("/tracks/upload", UriKind.Relative), form);
    }

    private string[] Uploads() => Directory.GetFiles(Path.Combine(_data, "uploads")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public async Task Audio_can_be_uploaded_and_a_bad_upload_stores_nothing()
    {
        var audio = await File.ReadAllBytesAsync(Path.Combine(_media, "trumpet.ogg"));

        var created = await UploadAsync("up-1", "suno", audio);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = (await BodyAsync(created)).GetProperty("audio_location").GetString()!;
        Assert.Matches("^upload:up-1-[0-9a-f]{16}\\.ogg$", location);
        Assert.Equal(audio, await File.ReadAllBytesAsync(Path.Combine(_data, "uploads", location["upload:".Length..])));
        Assert.Equal(HttpStatusCode.OK, (await UploadAsync("up-1", "suno", audio)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await UploadAsync("up-1", "udio", audio)).StatusCode);

        var notAudio = await UploadAsync("up-2", "suno", [1, 2, 3], "notes.txt");
        Assert.Equal(HttpStatusCode.BadRequest, notAudio.StatusCode);
        Assert.True((await BodyAsync(notAudio)).GetProperty("errors").TryGetProperty("file", out _));
        Assert.Equal(HttpStatusCode.BadRequest, (await UploadAsync("up-3", "suno", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await UploadAsync("bad/id", "suno", audio)).StatusCode);
        var badSystem = await UploadAsync("up-4", "suno", audio, system: "\u0001");
        Assert.True((await BodyAsync(badSystem)).GetProperty("errors").TryGetProperty("system", out _));
        Assert.Equal([location["upload:".Length..]], Uploads());

        Assert.Equal(HttpStatusCode.Created, (await UploadAsync("up-5", "suno", audio, system: "udio-v1")).StatusCode);
        var uploaded = await BodyAsync(await Http.GetAsync(new Uri("/tracks/up-5", UriKind.Relative)));
        Assert.Equal(("udio-v1", "a prompt"), (uploaded.GetProperty("system").GetString(), uploaded.GetProperty("prompt").GetString()));
    }

    [Fact]
    public async Task A_refused_re_upload_leaves_the_stored_audio_untouched_and_non_audio_is_refused_at_the_door()
    {
        var audio = await File.ReadAllBytesAsync(Path.Combine(_media, "trumpet.ogg"));
        var created = await UploadAsync("keep", "suno", audio);
        var stored = Path.Combine(_data, "uploads", (await BodyAsync(created)).GetProperty("audio_location").GetString()!["upload:".Length..]);

        // Another ingest key tries to replace it with other audio under other details: 409, file intact.
        var refused = await UploadAsync("keep", "udio", [.. audio, 0]);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal(audio, await File.ReadAllBytesAsync(stored));
        Assert.Single(Uploads());

        // Bytes that are not audio, named as audio: refused before anything is registered, naming the reason.
        var fake = await UploadAsync("fake", "suno", Encoding.UTF8.GetBytes("<html>not music</html>"), "song.ogg");
        Assert.Equal(HttpStatusCode.BadRequest, fake.StatusCode);
        var reason = (await BodyAsync(fake)).GetProperty("errors").GetProperty("file")[0].GetString()!;
        Assert.Contains("not audio", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(_data, reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/fake", UriKind.Relative))).StatusCode);
        Assert.Single(Uploads());
    }

    [Fact]
    public async Task A_tracks_timeline_counts_its_events_per_hour_and_an_event_from_the_future_is_rejected_on_its_own()
    {
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync("curve")).StatusCode);
        var now = DateTimeOffset.UtcNow;
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-5);
        string At(DateTimeOffset t) => t.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var posted = await BodyAsync(await EventsAsync($$"""
            {"events":[
              {"event_id":"c1","track_id":"curve","kind":"stream","count":4,"ts":"{{At(hour.AddMinutes(10))}}"},
              {"event_id":"c2","track_id":"curve","kind":"stream","ts":"{{At(now.AddHours(2))}}"},
              {"event_id":"c3","track_id":"curve","kind":"stream","count":2,"ts":"{{At(hour.AddHours(2).AddMinutes(59))}}"},
              {"event_id":"c4","track_id":"curve","kind":"like","ts":"{{At(hour.AddMinutes(20))}}"}]}
            """));

        Assert.Equal(3, posted.GetProperty("accepted").GetInt32());
        var early = Assert.Single(posted.GetProperty("rejections").EnumerateArray());
        Assert.Equal((1, "c2"), (early.GetProperty("index").GetInt32(), early.GetProperty("event_id").GetString()));
        Assert.Contains("ahead of the server's clock", early.GetProperty("reason").GetString(), StringComparison.Ordinal);

        var streams = await BodyAsync(await Http.GetAsync(new Uri($"/tracks/curve/timeline?from={Uri.EscapeDataString(At(hour))}&to={Uri.EscapeDataString(At(hour.AddHours(4)))}", UriKind.Relative)));
        Assert.Equal("hour", streams.GetProperty("bucket").GetString());
        Assert.Equal(6, streams.GetProperty("total").GetInt64());
        Assert.Equal([4L, 0L, 2L, 0L], streams.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("count").GetInt64()));
        var likes = await BodyAsync(await Http.GetAsync(new Uri($"/tracks/curve/timeline?kind=likes&bucket=day&from={Uri.EscapeDataString(At(hour.AddDays(-1)))}", UriKind.Relative)));
        Assert.Equal(1, likes.GetProperty("total").GetInt64());
        Assert.Equal(730, likes.GetProperty("retention_days").GetInt32());

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/nobody/timeline", UriKind.Relative))).StatusCode);
        foreach (var query in new[] { "kind=plays", "bucket=week", $"from={Uri.EscapeDataString(At(now))}&to={Uri.EscapeDataString(At(now.AddHours(-1)))}", "bucket=hour&from=2020-01-01T00:00:00Z" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync(new Uri($"/tracks/curve/timeline?{query}", UriKind.Relative))).StatusCode);
        }
    }

    [Fact]
    public async Task Stored_audio_streams_with_range_requests()
    {
        var audio = await File.ReadAllBytesAsync(Path.Combine(_media, "trumpet.ogg"));
        Assert.Equal(HttpStatusCode.Created, (await UploadAsync("listen", "suno", audio)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync("listen-path")).StatusCode);

        var whole = await Http.GetAsync(new Uri("/tracks/listen/audio", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("audio/ogg", whole.Content.Headers.ContentType?.MediaType);
        Assert.Equal(audio, await whole.Content.ReadAsByteArrayAsync());
        // A client's bytes opened directly never run as a page.
        Assert.Equal("nosniff", whole.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("sandbox", whole.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        using var ranged = new HttpRequestMessage(HttpMethod.Get, new Uri("/tracks/listen-path/audio", UriKind.Relative));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
        var part = await Http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(audio[100..200], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal(audio.Length, part.Content.Headers.ContentRange?.Length);

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/nobody/audio", UriKind.Relative))).StatusCode);
        using var anonymous = _silo.ClientWith(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/tracks/listen/audio", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_link_inside_the_media_root_that_points_outside_is_refused()
    {
        var outside = Directory.CreateTempSubdirectory("apex-outside-").FullName;
        try
        {
            File.Copy(Path.Combine(_media, "trumpet.ogg"), Path.Combine(outside, "secret.ogg"));
            File.CreateSymbolicLink(Path.Combine(_media, "escape.ogg"), Path.Combine(outside, "secret.ogg"));
            Directory.CreateSymbolicLink(Path.Combine(_media, "escape-dir"), outside);
            Directory.CreateSymbolicLink(Path.Combine(_media, "inner"), _media);

            foreach (var path in new[] { "escape.ogg", "escape-dir/secret.ogg" })
            {
                var response = await RegisterAsync("link-" + path.Length, audio: path);
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Contains("inside the media root", (await BodyAsync(response)).GetProperty("errors").GetProperty("audio_path")[0].GetString(), StringComparison.Ordinal);
            }

            // A link that stays inside the root is fine.
            Assert.Equal(HttpStatusCode.Created, (await RegisterAsync("link-inside", audio: "inner/trumpet.ogg")).StatusCode);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Over_limit_bodies_get_413_problems_for_json_and_multipart_alike()
    {
        // Announced sizes over the limits, sent with Expect: 100-continue: the host refuses before the body moves.
        using var json = new HttpRequestMessage(HttpMethod.Post, new Uri("/events", UriKind.Relative)) { Content = new Zeros(17L * 1024 * 1024, "application/json") };
        json.Headers.ExpectContinue = true;
        var tooBigJson = await Http.SendAsync(json);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBigJson.StatusCode);
        Assert.Equal("application/problem+json", tooBigJson.Content.Headers.ContentType?.MediaType);

        using var form = new MultipartFormDataContent
        {
            { new StringContent("huge"), "track_id" },
            { new StringContent("suno"), "platform" },
            { new StringContent("2026-11-01T00:00:00Z"), "created_at" },
            { new Zeros(300L * 1024 * 1024, "audio/ogg"), "file", "huge.ogg" },
        };
        using var upload = new HttpRequestMessage(HttpMethod.Post, new Uri("/tracks/upload", UriKind.Relative)) { Content = form };
        upload.Headers.ExpectContinue = true;
        var tooBigUpload = await Http.SendAsync(upload);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBigUpload.StatusCode);
        Assert.Equal("application/problem+json", tooBigUpload.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/huge", UriKind.Relative))).StatusCode);
    }

    /// <summary>A body of zeros of a given length, made as it is sent.</summary>
    private sealed class Zeros : HttpContent
    {
        private readonly long _length;

        public Zeros(long length, string mediaType)
        {
            _length = length;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var chunk = new byte[1 << 16];
            for (var sent = 0L; sent < _length; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, _length - sent)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }

    [Theory]
    [InlineData("../../etc/passwd", "inside the media root")]
    [InlineData("/etc/passwd", "inside the media root")]
    [InlineData("missing.ogg", "No file")]
    public async Task Audio_paths_outside_the_media_root_are_refused(string path, string reason)
    {
        var response = await RegisterAsync("t-bad", audio: path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, (await BodyAsync(response)).GetProperty("errors").GetProperty("audio_path")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/t-bad", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Registration_by_path_takes_only_regular_audio_files_outside_the_uploads_folder()
    {
        await File.WriteAllTextAsync(Path.Combine(_media, "notes.ogg"), "these bytes are not audio");
        await File.WriteAllBytesAsync(Path.Combine(_media, "empty.ogg"), []);
        using (var mkfifo = Process.Start("mkfifo", Path.Combine(_media, "pipe.ogg")))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        File.Copy(Path.Combine(_media, "trumpet.ogg"), Path.Combine(_media, "upload:trumpet.ogg"));
        var cases = new Dictionary<string, string>
        {
            ["notes.ogg"] = "not audio",
            ["empty.ogg"] = "empty or not a regular file",
            // Opening a FIFO waits for a writer forever: it must be refused without being opened.
            ["pipe.ogg"] = "empty or not a regular file",
            ["upload:trumpet.ogg"] = "may not start with 'upload:'",
        };
        foreach (var (path, reason) in cases)
        {
            var response = await RegisterAsync("path-" + cases.Keys.ToList().IndexOf(path), audio: path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(reason, (await BodyAsync(response)).GetProperty("errors").GetProperty("audio_path")[0].GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/path-0", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync("path-ok")).StatusCode);
    }

    [Fact]
    public async Task An_upload_with_two_file_parts_is_refused_and_stores_nothing()
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_media, "trumpet.ogg"));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("two-files"), "track_id" },
            { new StringContent("suno"), "platform" },
            { new StringContent("2026-11-01T00:00:00Z"), "created_at" },
            { new ByteArrayContent(bytes), "file", "a.ogg" },
            { new ByteArrayContent(bytes), "file", "b.ogg" },
        };
        var response = await Http.PostAsync(new Uri("/tracks/upload", UriKind.Relative), form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Exactly one file", (await BodyAsync(response)).GetProperty("errors").GetProperty("file")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/tracks/two-files", UriKind.Relative))).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_data, "uploads")) && Directory.EnumerateFiles(Path.Combine(_data, "uploads")).Any());
    }

    [Theory]
    [InlineData("""{"track_id":"s1","platform":"suno","platform":"udio","created_at":"2026-11-01T00:00:00Z","audio_path":"trumpet.ogg"}""", "platform", "more than once")]
    [InlineData("""{"track_id":"s2","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"trumpet.ogg","instrumantal":true}""", "instrumantal", "not a field")]
    [InlineData("""{"track_id":"s3","platform":"suno","created_at":"2026-11-01T00:00:00","audio_path":"trumpet.ogg"}""", "created_at", "with its offset")]
    [InlineData("""{"track_id":"s4","platform":"suno","created_at":"2026-11-01","audio_path":"trumpet.ogg"}""", "created_at", "with its offset")]
    [InlineData("""{"track_id":"s5","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"trumpet.ogg","system":"suno\u202Eevil"}""", "system", "bidirectional overrides")]
    public async Task Ambiguous_bodies_are_refused_naming_the_field(string body, string field, string reason)
    {
        var response = await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, (await BodyAsync(response)).GetProperty("errors").GetProperty(field)[0].GetString(), StringComparison.Ordinal);
        var id = JsonDocument.Parse(body.Replace("\"platform\":\"udio\",", "", StringComparison.Ordinal)).RootElement.GetProperty("track_id").GetString();
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri($"/tracks/{id}", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task An_event_sent_with_a_field_twice_or_a_time_without_offset_logs_nothing()
    {
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync("strict")).StatusCode);
        foreach (var (body, field) in new[]
        {
            ("""{"events":[{"event_id":"e1","track_id":"strict","kind":"stream","count":1,"count":500}]}""", "events[0].count"),
            ("""{"events":[{"event_id":"e1","track_id":"strict","kind":"stream","count":1,"ts":"2026-11-02T10:00:00"}]}""", "events[0].ts"),
            ("""{"events":[{"event_id":"e1","track_id":"strict","kind":"stream","cnt":1}]}""", "events[0].cnt"),
        })
        {
            var response = await EventsAsync(body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await BodyAsync(response)).GetProperty("errors").TryGetProperty(field, out _), field);
        }

        Assert.Equal(0, (await BodyAsync(await Http.GetAsync(new Uri("/tracks/strict", UriKind.Relative)))).GetProperty("streams").GetInt64());
        // The same event, well formed, is new: nothing of the refused ones was logged under its id.
        var accepted = await BodyAsync(await EventsAsync("""{"events":[{"event_id":"e1","track_id":"strict","kind":"stream","count":1,"ts":"2026-11-02T10:00:00+01:00"}]}"""));
        Assert.Equal(1, accepted.GetProperty("accepted").GetInt32());
    }

    [Theory]
    [InlineData("/platforms/a%2Fb/tracks")]
    [InlineData("/platforms/with%20space/emerging")]
    [InlineData("/platforms/caf%C3%A9/calibration")]
    public async Task Platform_names_in_paths_are_held_to_their_domain(string path)
    {
        var response = await Http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await BodyAsync(response)).GetProperty("errors").TryGetProperty("platform", out _));
    }

    [Theory]
    [InlineData("{\"track_id\":\"x\"}", "platform")]
    [InlineData("{\"track_id\":\"a/b\",\"platform\":\"suno\",\"created_at\":\"2026-01-01T00:00:00Z\",\"audio_path\":\"trumpet.ogg\"}", "track_id")]
    [InlineData("{not json", null)]
    [InlineData("", null)]
    public async Task Malformed_registrations_are_problem_details(string body, string? field)
    {
        var response = await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (field is not null)
        {
            Assert.True((await BodyAsync(response)).GetProperty("errors").TryGetProperty(field, out _));
        }
    }

    [Fact]
    public async Task Events_count_once_unknown_tracks_are_rejected_per_event_and_bad_batches_log_nothing()
    {
        await RegisterAsync("a");
        await RegisterAsync("b", created: DateTimeOffset.UtcNow.AddDays(-1).ToString("O"));

        var first = await BodyAsync(await EventsAsync("""{"events":[{"event_id":"1","track_id":"a","kind":"stream","count":3},{"event_id":"1","track_id":"a","kind":"stream","count":3},{"event_id":"2","track_id":"ghost","kind":"like"},{"event_id":"3","track_id":"b","kind":"like"}]}"""));
        Assert.Equal((2, 1, 1), (first.GetProperty("accepted").GetInt32(), first.GetProperty("duplicate").GetInt32(), first.GetProperty("rejected").GetInt32()));
        Assert.Equal(2, first.GetProperty("rejections")[0].GetProperty("index").GetInt32());

        var wrongType = await EventsAsync("""{"events":[{"event_id":"9","track_id":"a","kind":"stream","count":"many"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        var wrongTypeBody = await BodyAsync(wrongType);
        Assert.Contains("'events[0].count' has a value of the wrong type", wrongTypeBody.GetProperty("errors").GetProperty("events[0].count")[0].GetString(), StringComparison.Ordinal);
        var notJson = await EventsAsync("""{"events":[{"event_id":""");
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal("application/problem+json", notJson.Content.Headers.ContentType?.MediaType);
        var badQuery = await Http.GetAsync(new Uri("/platforms/suno/tracks?limit=lots", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
        Assert.Contains("limit", (await BodyAsync(badQuery)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var invalid = await EventsAsync("""{"events":[{"event_id":"9","track_id":"a","kind":"stream"},{"event_id":"10","track_id":"a","kind":"share"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.True((await BodyAsync(invalid)).GetProperty("errors").TryGetProperty("events[1]", out _));
        var tooMany = "{\"events\":[" + string.Join(",", Enumerable.Range(0, 51).Select(i => $$"""{"event_id":"m{{i}}","track_id":"a","kind":"stream"}""")) + "]}";
        Assert.Equal(HttpStatusCode.BadRequest, (await EventsAsync(tooMany)).StatusCode);

        // Event 9 of the refused batch was not logged: it is accepted now.
        var retry = await BodyAsync(await EventsAsync("""{"events":[{"event_id":"9","track_id":"a","kind":"stream"}]}"""));
        Assert.Equal(1, retry.GetProperty("accepted").GetInt32());

        // Event 1 again with another count: a conflict, listed, and not counted.
        var conflict = await BodyAsync(await EventsAsync("""{"events":[{"event_id":"1","track_id":"a","kind":"stream","count":30},{"event_id":"1","track_id":"a","kind":"stream","count":3}]}"""));
        Assert.Equal((0, 1, 1), (conflict.GetProperty("accepted").GetInt32(), conflict.GetProperty("duplicate").GetInt32(), conflict.GetProperty("conflict").GetInt32()));
        Assert.Equal(0, conflict.GetProperty("conflicts")[0].GetProperty("index").GetInt32());

        var a = await BodyAsync(await Http.GetAsync(new Uri("/tracks/a", UriKind.Relative)));
        Assert.Equal(4, a.GetProperty("streams").GetInt64());
        Assert.True(a.GetProperty("mature").GetBoolean());
        Assert.Equal(1.0, a.GetProperty("popularity").GetProperty("streams_percentile").GetDouble());
        var b = await BodyAsync(await Http.GetAsync(new Uri("/tracks/b", UriKind.Relative)));
        Assert.False(b.GetProperty("mature").GetBoolean());
        Assert.Equal(1, b.GetProperty("likes").GetInt64());

        var byStreams = await BodyAsync(await Http.GetAsync(new Uri("/platforms/suno/tracks?sort=streams&limit=10", UriKind.Relative)));
        Assert.Equal(["a", "b"], byStreams.EnumerateArray().Select(t => t.GetProperty("track_id").GetString()));
        var newest = await BodyAsync(await Http.GetAsync(new Uri("/platforms/suno/tracks?sort=newest&limit=1", UriKind.Relative)));
        Assert.Equal("b", newest[0].GetProperty("track_id").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync(new Uri("/platforms/suno/tracks?sort=plays", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync(new Uri("/platforms/suno/tracks?limit=0", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Acknowledged_events_survive_a_host_restart()
    {
        await RegisterAsync("r1");
        await RegisterAsync("r2");
        await EventsAsync("""{"events":[{"event_id":"1","track_id":"r1","kind":"stream","count":5},{"event_id":"2","track_id":"r2","kind":"stream","count":2}]}""");
        await _silo.DisposeAsync(); // killed, not stopped: nothing gets a chance to flush

        _silo = await SiloProcess.StartAsync(_data, _media);

        var r1 = await BodyAsync(await Http.GetAsync(new Uri("/tracks/r1", UriKind.Relative)));
        Assert.Equal(5, r1.GetProperty("streams").GetInt64());
        Assert.Equal(1.0, r1.GetProperty("popularity").GetProperty("streams_percentile").GetDouble());
        var again = await BodyAsync(await EventsAsync("""{"events":[{"event_id":"1","track_id":"r1","kind":"stream","count":5}]}"""));
        Assert.Equal(1, again.GetProperty("duplicate").GetInt32());
    }

    [Fact]
    public async Task Prometheus_metrics_count_events_by_outcome()
    {
        await RegisterAsync("m1");
        await EventsAsync("""{"events":[{"event_id":"1","track_id":"m1","kind":"stream"},{"event_id":"1","track_id":"m1","kind":"stream"},{"event_id":"1","track_id":"m1","kind":"like"},{"event_id":"2","track_id":"ghost","kind":"like"}]}""");

        using var anonymous = _silo.ClientWith(null);
        var metrics = await anonymous.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Contains("apex_ingest_events_total{otel_scope_name=\"Apex.Ingest\",outcome=\"accepted\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("outcome=\"duplicate\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("outcome=\"unknown_track\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("outcome=\"conflict\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("apex_ingest_commit_duration_seconds_bucket", metrics, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Openapi_document_lists_the_routes()
    {
        var doc = await BodyAsync(await Http.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var paths = doc.GetProperty("paths");

        Assert.True(paths.TryGetProperty("/tracks", out _));
        Assert.True(paths.TryGetProperty("/events", out _));
        Assert.True(paths.TryGetProperty("/tracks/{id}", out _));
        var scheme = doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal(("apiKey", "header", "X-Api-Key"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("in").GetString(), scheme.GetProperty("name").GetString()));
        Assert.True(paths.GetProperty("/events").GetProperty("post").GetProperty("security")[0].TryGetProperty("ApiKey", out _));
        Assert.False(paths.GetProperty("/health/live").GetProperty("get").TryGetProperty("security", out _));

        // Field domains are part of the document.
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        var evt = schemas.GetProperty("EventRequest").GetProperty("properties");
        Assert.Equal(200, evt.GetProperty("event_id").GetProperty("maxLength").GetInt32());
        Assert.Equal("^[A-Za-z0-9._:-]+$", evt.GetProperty("track_id").GetProperty("pattern").GetString());
        Assert.Equal(1_000_000, evt.GetProperty("count").GetProperty("maximum").GetInt64());
        Assert.Equal(5, schemas.GetProperty("ScoreVector").GetProperty("properties").GetProperty("clarity").GetProperty("maximum").GetDouble());
        Assert.Contains("2000-01-01", schemas.GetProperty("RegisterTrackRequest").GetProperty("properties").GetProperty("created_at").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_setting_stops_the_host_with_its_message()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Apex.Silo.dll"), "--Apex:Profile=bogus", $"--Apex:DataDir={_data}" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit(60_000);

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Apex:Profile must be 'local' or 'cluster'", error, StringComparison.Ordinal);
    }
}
