using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace Apex.Silo.Tests;

/// <summary>
/// Property-based fuzzing of every endpoint on a running host (CsCheck): valid templates with one field
/// replaced by an arbitrary JSON value, removed, or joined by an unknown one; broken JSON; arbitrary
/// ids, query strings, range and content-type headers, each sent with an admin, ingest, reader or no
/// key. The properties: no answer is a 5xx; an answer of 4xx changed nothing (tracks and their counts,
/// keys, battles, stored uploads); and no error body shows the server's internals (its paths, stack
/// frames, exception types).
/// </summary>
public sealed partial class FuzzTests : IAsyncLifetime
{
    /// <summary>Per CI run (about 10 s here); APEX_FUZZ_ITERATIONS runs a longer campaign, APEX_FUZZ_SEED replays one.</summary>
    private static readonly int Iterations = int.TryParse(Environment.GetEnvironmentVariable("APEX_FUZZ_ITERATIONS"), out var n) ? n : 600;

    private readonly string _data = Directory.CreateTempSubdirectory("apex-fuzz-").FullName;
    private SiloProcess _silo = null!;
    private HttpClient[] _callers = [];

    private HttpClient Http => _silo.Http;

    public async Task InitializeAsync()
    {
        _silo = await SiloProcess.StartAsync(_data, Path.Combine(AppContext.BaseDirectory, "samples"), "--Apex:BurstPerKey=100000", "--Apex:RequestsPerSecondPerKey=100000");
        // A little state for the fuzzed requests to run into: a track with events, a battle, a key.
        Assert.Equal(HttpStatusCode.Created, (await PostAsync("/tracks", """{"track_id":"f1","platform":"fuzz","created_at":"2026-11-01T00:00:00Z","audio_path":"macleod-vibe-ace.ogg"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("/events", """{"events":[{"event_id":"seed","track_id":"f1","kind":"stream","count":3}]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("/battles", """{"battles":[{"battle_id":"seed","model_a":"x","model_b":"y","winner":"tie"}]}""")).StatusCode);
        async Task<string> KeyAsync(string role) =>
            JsonDocument.Parse(await (await PostAsync("/keys", $$"""{"role":"{{role}}","name":"fuzz-{{role}}"}""")).Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString()!;
        _callers = [Http, _silo.ClientWith(await KeyAsync("ingest")), _silo.ClientWith(await KeyAsync("reader")), _silo.ClientWith(null)];
    }

    public async Task DisposeAsync()
    {
        foreach (var caller in _callers.Skip(1))
        {
            caller.Dispose();
        }

        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        Http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Arbitrary JSON values, the awkward ones over-represented.</summary>
    private static readonly Gen<string> JsonValue = Gen.OneOf(
        Gen.Const("null"), Gen.Const("true"), Gen.Const("[]"), Gen.Const("{}"), Gen.Const("\"\""), Gen.Const("\" \""),
        Gen.Const("1e400"), Gen.Const("-1"), Gen.Const("0"), Gen.Const("9223372036854775808"), Gen.Const("1.5"),
        Gen.Const("\"NaN\""), Gen.Const("\"Infinity\""), Gen.Const("\"0001-01-01T00:00:00Z\""), Gen.Const("\"9999-12-31T23:59:59Z\""),
        Gen.Const("\"../../etc/passwd\""), Gen.Const("\"a\\u0000b\""), Gen.Const("[null]"), Gen.Const("[{}]"),
        Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Double.Where(double.IsFinite).Select(d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
        Gen.String.Select(s => JsonSerializer.Serialize(s)),
        Gen.Char.Array[180, 5000].Select(c => JsonSerializer.Serialize(new string(c))));

    /// <summary>A template's fields with one replaced, removed, or an unknown one added.</summary>
    private static Gen<string> Mutated(params (string Field, string Value)[] template) =>
        Gen.Select(Gen.Int[0, template.Length - 1], Gen.Int[0, 3], JsonValue, (field, how, value) =>
        {
            var fields = template.ToList();
            switch (how)
            {
                case 0 or 1:
                    fields[field] = (fields[field].Field, value);
                    break;
                case 2:
                    fields.RemoveAt(field);
                    break;
                default:
                    fields.Add(("unexpected_" + field, value));
                    break;
            }

            return "{" + string.Join(",", fields.Select(f => $"\"{f.Field}\":{f.Value}")) + "}";
        });

    private static Gen<string> Array(string name, Gen<string> items) =>
        Gen.OneOf(
            items.Array[1, 3].Select(a => $"{{\"{name}\":[{string.Join(",", a)}]}}"),
            JsonValue.Select(v => $"{{\"{name}\":{v}}}"));

    private static readonly Gen<string> Events = Array("events", Mutated(("event_id", "\"e1\""), ("track_id", "\"f1\""), ("kind", "\"stream\""), ("count", "2"), ("ts", "\"2026-11-20T00:00:00Z\"")));

    private static readonly Gen<string> Battles = Array("battles", Mutated(("battle_id", "\"b1\""), ("model_a", "\"x\""), ("model_b", "\"y\""), ("winner", "\"model_a\""), ("instrumental", "true"), ("track_a", "\"f1\""), ("voter", "\"v\"")));

    private static readonly Gen<string> Track = Mutated(("track_id", "\"t1\""), ("platform", "\"fuzz\""), ("created_at", "\"2026-11-01T00:00:00Z\""), ("audio_path", "\"macleod-vibe-ace.ogg\""), ("instrumental", "false"),
        ("system", "\"suno-v4\""), ("prompt", "\"lo-fi hip hop about a night drive\""));

    private static readonly Gen<string> Catalogue = Array("tracks", Mutated(("track_id", "\"c1\""), ("platform", "\"fuzz\""), ("created_at", "\"2026-11-01T00:00:00Z\""), ("audio_path", "\"macleod-vibe-ace.ogg\""),
        ("streams", "40"), ("likes", "3"), ("counts_at", "\"2026-11-20T00:00:00Z\""), ("system", "\"suno-v4\"")));

    private static readonly Gen<string> Key = Mutated(("role", "\"reader\""), ("name", "\"k\""), ("expires_at", "\"2030-01-01T00:00:00Z\""));

    // A link-local target: a body that keeps it is refused without a name lookup.
    private static readonly Gen<string> Subscription = Mutated(("url", "\"http://169.254.169.254/latest/\""), ("types", "[\"scored\",\"breakout\"]"), ("platforms", "[\"fuzz\"]"), ("description", "\"d\""));

    private static readonly Gen<string> Judge = Array("pairs", Mutated(("track_a", "\"f1\""), ("track_b", "\"f2\""), ("instrumental", "true"),
        ("scores_a", """{"streams":50,"likes":50,"coherence":3,"musicality":3,"memorability":3,"clarity":3,"naturalness":3}""")));

    /// <summary>Broken JSON: a valid body cut short, or not JSON at all.</summary>
    private static readonly Gen<string> Broken = Gen.OneOf(
        Events.SelectMany(e => Gen.Int[0, Math.Max(0, e.Length - 1)].Select(n => e[..n])),
        Gen.String, Gen.Const("{\"events\":[{\"event_id\":\"1\",\"track_id\":\"f1\",\"kind\":\"stream\",\"count\":1}]"), Gen.Const("[1,2,3]"));

    private static readonly Gen<string> Segment = Gen.OneOf(Gen.Const("f1"), Gen.Const("nope"), Gen.Const("..%2F..%2Fetc"), Gen.Const("%00"), Gen.Const("a%20b"),
        Gen.String[1, 300].Select(Uri.EscapeDataString), Gen.Const(new string('x', 5000)));

    private static readonly Gen<string> QueryValue = Gen.OneOf(Gen.Const("10"), Gen.Const("-1"), Gen.Const("0"), Gen.Const("99999999999"), Gen.Const("NaN"), Gen.Const("1e308d"),
        Gen.Const("NaNd"), Gen.Const("Infinityh"), Gen.Const("14d"), Gen.Const("-3h"), Gen.Const(""), Gen.String[0, 40].Select(Uri.EscapeDataString));

    private sealed record Request(string Method, string Path, string? Body, string ContentType = "application/json", string? Range = null)
    {
        public override string ToString() => $"{Method} {Path} [{ContentType}] {(Body is { Length: > 300 } b ? b[..300] + "…" : Body)}";
    }

    private static readonly Gen<Request> Requests = Gen.OneOf(
        Events.Select(b => new Request("POST", "/events", b)),
        Battles.Select(b => new Request("POST", "/battles", b)),
        Track.Select(b => new Request("POST", "/tracks", b)),
        Catalogue.Select(b => new Request("POST", "/tracks/batch", b)),
        Key.Select(b => new Request("POST", "/keys", b)),
        Judge.Select(b => new Request("POST", "/judge", b)),
        Broken.Select(b => new Request("POST", "/events", b)),
        Broken.Select(b => new Request("POST", "/battles", b)),
        Gen.Select(Segment, JsonValue, (id, v) => new Request("POST", $"/keys/{id}/rotate", $"{{\"grace_seconds\":{v}}}")),
        Segment.Select(id => new Request("DELETE", $"/keys/{id}", null)),
        Events.Select(b => new Request("POST", "/events", b, "text/plain")),
        Gen.String[0, 2000].Select(b => new Request("POST", "/tracks/upload", b, "multipart/form-data; boundary=x")),
        Segment.Select(id => new Request("GET", $"/tracks/{id}", null)),
        Gen.Select(Segment, Gen.OneOf(Gen.Const("bytes=0-10"), Gen.Const("bytes=-5"), Gen.Const("bytes=999999999-"), Gen.Const("bytes=5-1"), Gen.Const("items=0-1"), Gen.String[0, 30]),
            (id, range) => new Request("GET", $"/tracks/{id}/audio", null, Range: range)),
        Gen.Select(Segment, QueryValue, QueryValue, (p, sort, limit) => new Request("GET", $"/platforms/{p}/tracks?sort={sort}&limit={limit}", null)),
        Gen.Select(Segment, QueryValue, QueryValue, (p, window, limit) => new Request("GET", $"/platforms/{p}/emerging?window={window}&limit={limit}", null)),
        Gen.Select(Segment, QueryValue, (p, days) => new Request("GET", $"/platforms/{p}/calibration?days={days}", null)),
        Segment.Select(p => new Request("GET", $"/platforms/{p}/breakouts", null)),
        Gen.Select(Segment, QueryValue, QueryValue, QueryValue, (id, kind, bucket, from) => new Request("GET", $"/tracks/{id}/timeline?kind={kind}&bucket={bucket}&from={from}", null)),
        Segment.Select(s => new Request("GET", $"/leaderboards/{s}", null)),
        Segment.Select(s => new Request("GET", $"/training/runs/{s}", null)),
        Segment.Select(s => new Request("POST", $"/models/{s}/promote", null)),
        Subscription.Select(b => new Request("POST", "/subscriptions", b)),
        Segment.Select(s => new Request("DELETE", $"/subscriptions/{s}", null)),
        Gen.Select(Segment, QueryValue, QueryValue, QueryValue, (id, status, before, limit) => new Request("GET", $"/subscriptions/{id}/deliveries?status={status}&before={before}&limit={limit}", null)),
        Gen.Select(Segment, Segment, (id, delivery) => new Request("POST", $"/subscriptions/{id}/deliveries/{delivery}/redeliver", null)));

    /// <summary>What a refused request must not change: tracks with their counts, keys, battles, stored uploads, webhook subscriptions.</summary>
    private async Task<string> SnapshotAsync()
    {
        var tracks = await Http.GetStringAsync(new Uri("/platforms/fuzz/tracks?sort=newest&limit=1000", UriKind.Relative));
        var keys = JsonDocument.Parse(await Http.GetStringAsync(new Uri("/keys", UriKind.Relative))).RootElement.EnumerateArray()
            .Select(k => $"{k.GetProperty("id").GetString()}:{k.GetProperty("status").GetString()}:{k.GetProperty("expires_at")}");
        // The battle log itself (leaderboards count what their last refit saw, which moves on its own).
        long battles;
        await using (var arena = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_data, "arena.db")};Mode=ReadOnly;Pooling=False"))
        {
            await arena.OpenAsync();
            await using var count = arena.CreateCommand();
            count.CommandText = "SELECT count(*) FROM apex_battles";
            battles = (long)(await count.ExecuteScalarAsync())!;
        }

        var uploads = Path.Combine(_data, "uploads");
        var files = Directory.Exists(uploads) ? Directory.GetFiles(uploads, "*", SearchOption.AllDirectories).Order() : Enumerable.Empty<string>();
        var subscriptions = await Http.GetStringAsync(new Uri("/subscriptions", UriKind.Relative));
        return $"{tracks}\n{string.Join(",", keys)}\n{battles}\n{string.Join(",", files)}\n{subscriptions}";
    }

    private static string Difference(string before, string after)
    {
        var (b, a) = (before.Split('\n'), after.Split('\n'));
        return string.Join(" | ", b.Zip(a).Where(p => p.First != p.Second).Select(p => $"was {p.First[..Math.Min(400, p.First.Length)]} now {p.Second[..Math.Min(400, p.Second.Length)]}"));
    }

    [Fact]
    public async Task No_input_gets_a_5xx_and_a_refused_one_changes_nothing()
    {
        var seen = new Dictionary<int, int>();
        await Gen.Select(Requests, Gen.Int[0, 3]).SampleAsync(async (request, caller) =>
        {
            var before = await SnapshotAsync();
            using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(request.Path, UriKind.Relative));
            if (request.Body is not null)
            {
                message.Content = new StringContent(request.Body, Encoding.UTF8);
                message.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(request.ContentType);
            }

            if (request.Range is not null)
            {
                message.Headers.TryAddWithoutValidation("Range", request.Range);
            }

            using var response = await _callers[caller].SendAsync(message);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            lock (seen)
            {
                seen[status] = seen.GetValueOrDefault(status) + 1;
            }

            Assert.True(status < 500, $"{status} for {request}: {body}");
            if (status >= 400)
            {
                Assert.False(Internals().IsMatch(body) || body.Contains(_data, StringComparison.Ordinal) || body.Contains(AppContext.BaseDirectory.TrimEnd('/'), StringComparison.Ordinal),
                    $"{status} for {request} (caller {caller}) shows internals: {body}");
                var after = await SnapshotAsync();
                Assert.True(before == after, $"{status} for {request} changed the stored state: {Difference(before, after)}");
            }
        }, iter: Iterations, threads: 1, seed: Environment.GetEnvironmentVariable("APEX_FUZZ_SEED"));

        // The campaign reached both sides: accepted requests and refused ones.
        Assert.True(seen.Keys.Any(s => s is >= 200 and < 300) && seen.Keys.Any(s => s is >= 400 and < 500), string.Join(", ", seen.Select(p => $"{p.Key}×{p.Value}")));
    }

    /// <summary>Stack frames, exception type names, and absolute paths under the usual server roots.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\s+at \w+\.|\b\w+Exception\b|(^|[\s""'(])/(tmp|home|root|var|usr|app|work|data|srv|opt|etc)/")]
    private static partial System.Text.RegularExpressions.Regex Internals();
}
