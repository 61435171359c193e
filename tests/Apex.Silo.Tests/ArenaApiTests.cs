using System.Net;
using System.Text;
using System.Text.Json;

namespace Apex.Silo.Tests;

public sealed class ArenaApiTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-arena-api-").FullName;
    private SiloProcess _silo = null!;

    private HttpClient Http => _silo.Http;

    public async Task InitializeAsync()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "samples"), "*.ogg"))
        {
            File.Copy(file, Path.Combine(_data, Path.GetFileName(file)));
        }

        _silo = await SiloProcess.StartAsync(_data, _data, "--Apex:Arena:DailyCapPerVoter=2", "--Apex:Arena:RefitInterval=00:00:01", "--Apex:Arena:Bootstrap=100",
            $"--Apex:ModelsDir={await SiloProcess.ModelsAsync()}");
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static string Battles(IEnumerable<(string Id, string A, string B, string Winner, bool Instrumental, string? TrackA, string? TrackB, string? Voter)> battles) =>
        JsonSerializer.Serialize(new
        {
            battles = battles.Select(b => new { battle_id = b.Id, model_a = b.A, model_b = b.B, winner = b.Winner, instrumental = b.Instrumental, track_a = b.TrackA, track_b = b.TrackB, voter = b.Voter }),
        });

    [Fact]
    public async Task Battles_are_idempotent_capped_per_voter_and_refused_whole_when_malformed()
    {
        var batch = Battles([("b1", "x", "y", "model_a", true, null, null, null), ("b2", "x", "y", "tie", false, null, null, "v1"), ("b3", "y", "z", "both_bad", false, null, null, "v1")]);

        var first = await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(batch)));
        var retry = await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(batch)));
        var capped = await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles([("b4", "x", "z", "model_b", true, null, null, "v1")]))));
        var bad = await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles([("b5", "x", "z", "model_a", true, null, null, null), ("b6", "x", "z", "nobody", true, null, null, null)])));

        Assert.Equal((3, 0), (first.GetProperty("accepted").GetInt32(), first.GetProperty("duplicate").GetInt32()));
        Assert.Equal((0, 3), (retry.GetProperty("accepted").GetInt32(), retry.GetProperty("duplicate").GetInt32()));
        var conflict = await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles([("b1", "x", "y", "model_b", true, null, null, null)]))));
        Assert.Equal((0, 1), (conflict.GetProperty("accepted").GetInt32(), conflict.GetProperty("conflict").GetInt32()));
        Assert.Equal("b1", conflict.GetProperty("conflicts")[0].GetProperty("battle_id").GetString());
        Assert.Equal(1, capped.GetProperty("rejected").GetInt32());
        Assert.Contains("daily cap", capped.GetProperty("rejections")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        var resent = await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles([("b5", "x", "z", "model_a", true, null, null, null)]))));
        Assert.Equal(1, resent.GetProperty("accepted").GetInt32()); // nothing of the refused batch was recorded

        // The documented format too, one format per battle; two tracks of one system are valid data.
        const string documented = """{"battles":[{"battle_id":"b7","a_system":" x ","b_system":"x","vote":"a"},{"battle_id":"b8","a_system":"y","b_system":"z","vote":"b"}]}""";
        Assert.Equal(2, (await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(documented)))).GetProperty("accepted").GetInt32());
        var mixed = await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json("""{"battles":[{"battle_id":"b9","a_system":"x","model_b":"y","vote":"a"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        Assert.Contains("one format per battle", (await BodyAsync(mixed)).GetProperty("errors").GetProperty("battles[0]")[0].GetString(), StringComparison.Ordinal);
        var fastChatTie = await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles([("b10", "y", "z", "tie (bothbad)", false, null, null, null)]))));
        Assert.Equal(1, fastChatTie.GetProperty("accepted").GetInt32());

        // The board answers with its last finished refit (every second here): wait for the one that saw b5.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonElement overall;
        while ((overall = await BodyAsync(await Http.GetAsync(new Uri("/leaderboards/overall", UriKind.Relative)))).GetProperty("skipped_both_bad").GetInt64() < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        // b1, b2, b5, b8; the both-bad b3 and b10 and the same-system b7 are skipped, and said so.
        Assert.Equal(4, overall.GetProperty("battles").GetInt64());
        Assert.Equal((1, 2), (overall.GetProperty("skipped_same_system").GetInt64(), overall.GetProperty("skipped_both_bad").GetInt64()));
        Assert.Equal(["x", "y", "z"], overall.GetProperty("systems").EnumerateArray().Select(s => s.GetProperty("system").GetString()).Order());
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri("/leaderboards/everything", UriKind.Relative))).StatusCode);

        using var anonymous = _silo.ClientWith(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync(new Uri("/battles", UriKind.Relative), Json(batch))).StatusCode);
        var reader = (await BodyAsync(await Http.PostAsync(new Uri("/keys", UriKind.Relative), Json("""{"role":"reader"}""")))).GetProperty("key").GetString();
        using var readerClient = _silo.ClientWith(reader);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.PostAsync(new Uri("/battles", UriKind.Relative), Json(batch))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await readerClient.GetAsync(new Uri("/leaderboards/vocal", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Variants_of_one_voter_id_share_one_daily_cap_and_a_blank_voter_is_refused()
    {
        // Full-width letters and digits (NFKC), surrounding spaces, and case: one voter, capped at 2 a day.
        var body = await BodyAsync(await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles([
            ("n1", "x", "y", "model_a", true, null, null, "\uFF36\uFF4F\uFF54\uFF45\uFF52\uFF17"),
            ("n2", "x", "y", "model_b", true, null, null, "  voter7 "),
            ("n3", "x", "y", "tie", true, null, null, "VOTER7")]))));
        var blank = await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles([("n4", "x", "y", "tie", true, null, null, " \u3000 ")])));

        Assert.True(body.GetProperty("accepted").GetInt32() == 2, body.ToString());
        Assert.Equal(1, body.GetProperty("rejected").GetInt32());
        Assert.Equal("n3", body.GetProperty("rejections")[0].GetProperty("battle_id").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        Assert.Contains("voter", await blank.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leaderboards_refit_from_recorded_battles_and_rank_the_stronger_system_first()
    {
        var random = new Random(3);
        var battles = Enumerable.Range(0, 400).Select(i =>
        {
            var (a, b) = i % 2 == 0 ? ("strong", "weak") : ("weak", "strong");
            var strongWins = random.NextDouble() < 0.8;
            var winner = (a == "strong") == strongWins ? "model_a" : "model_b";
            return ($"lb-{i}", a, b, winner, i % 3 == 0, (string?)null, (string?)null, (string?)null);
        }).ToList();

        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles(battles)))).StatusCode);
        JsonElement board;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            board = await BodyAsync(await Http.GetAsync(new Uri("/leaderboards/overall", UriKind.Relative)));
            await Task.Delay(200);
        }
        while (board.GetProperty("battles_at_refit").GetInt64() < 400 && DateTime.UtcNow < deadline);

        var systems = board.GetProperty("systems").EnumerateArray().ToList();
        Assert.Equal("strong", systems[0].GetProperty("system").GetString());
        Assert.True(systems[0].GetProperty("ci_low").GetDouble() > systems[1].GetProperty("ci_high").GetDouble());
        Assert.Equal(2, systems[1].GetProperty("rank_ub").GetInt32());
        Assert.True(board.TryGetProperty("refitted_at", out var at) && at.ValueKind == JsonValueKind.String);
        var instrumental = await BodyAsync(await Http.GetAsync(new Uri("/leaderboards/instrumental", UriKind.Relative)));
        Assert.Equal(battles.Count(b => b.Item5), instrumental.GetProperty("battles").GetInt64());
    }

    [Fact]
    public async Task The_judge_learns_from_battles_between_scored_tracks()
    {
        using var noModel = await Http.PostAsync(new Uri("/judge", UriKind.Relative), Json("""{"pairs":[{"scores_a":{"streams":1,"likes":1,"coherence":1,"musicality":1,"memorability":1,"clarity":1,"naturalness":1},"scores_b":{"streams":1,"likes":1,"coherence":1,"musicality":1,"memorability":1,"clarity":1,"naturalness":1},"instrumental":true}]}"""));
        Assert.Equal(HttpStatusCode.Conflict, noModel.StatusCode);

        var songs = Directory.GetFiles(_data, "*.ogg").Select(Path.GetFileName).Order().ToList();
        foreach (var (song, i) in songs.Select((s, i) => (s, i)))
        {
            var registered = await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json($$"""{"track_id":"t{{i}}","platform":"arena","created_at":"2026-11-01T00:00:00Z","audio_path":"{{song}}"}"""));
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        var scoredBy = DateTime.UtcNow.AddSeconds(60);
        for (var i = 0; i < songs.Count; i++)
        {
            while ((await BodyAsync(await Http.GetAsync(new Uri($"/tracks/t{i}", UriKind.Relative)))).GetProperty("scoring").GetProperty("status").GetString() != "scored")
            {
                Assert.True(DateTime.UtcNow < scoredBy, $"t{i} was not scored");
                await Task.Delay(250);
            }
        }

        var random = new Random(5);
        var battles = Enumerable.Range(0, 80).Select(k =>
        {
            var a = random.Next(songs.Count);
            var b = (a + 1 + random.Next(songs.Count - 1)) % songs.Count;
            return ($"j-{k}", $"sys{a}", $"sys{b}", a < b ? "model_a" : "model_b", k % 2 == 0, (string?)$"t{a}", (string?)$"t{b}", (string?)null);
        }).ToList();
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json(Battles(battles)))).StatusCode);

        // The judge trains once the tracks are scored and enough battles arrived (checked every second here).
        var request = Json("""{"pairs":[{"track_a":"t0","track_b":"t1","instrumental":true},{"track_a":"t0","track_b":"nope","instrumental":true}]}""");
        HttpResponseMessage judged;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((judged = await Http.PostAsync(new Uri("/judge", UriKind.Relative), request)).StatusCode == HttpStatusCode.Conflict)
        {
            Assert.True(DateTime.UtcNow < deadline, "the judge never trained");
            await Task.Delay(500);
            request = Json("""{"pairs":[{"track_a":"t0","track_b":"t1","instrumental":true},{"track_a":"t0","track_b":"nope","instrumental":true}]}""");
        }

        var body = await BodyAsync(judged);
        Assert.StartsWith("pref-", body.GetProperty("model_version").GetString(), StringComparison.Ordinal);
        Assert.Equal(80, body.GetProperty("trained_on_battles").GetInt32());
        Assert.InRange(body.GetProperty("prefer_a")[0].GetDouble(), 0, 1);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("prefer_a")[1].ValueKind);
        Assert.Contains("scored track", body.GetProperty("errors")[1].GetString(), StringComparison.Ordinal);
    }
}
