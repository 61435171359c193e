namespace Apex.Arena.Tests;

public sealed class BattleFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-battle-files-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public async Task The_documented_format_reads_systems_tracks_votes_prompt_and_time()
    {
        var path = Write("documented.jsonl",
            """{"battle_id":"1","prompt":"lofi rain","a_track":"t1","b_track":"t2","a_system":" suno-v4 ","b_system":"udio","vote":"a","instrumental":true,"ts":"2026-03-01T10:00:00Z","voter":"v1"}""",
            """{"battle_id":"2","a_system":"suno-v4","b_system":"udio","vote":"both_bad"}""",
            """{"battle_id":"3","a_system":"udio","b_system":"suno-v4","vote":"tie"}""",
            """{"battle_id":"4","a_system":"udio","b_system":"suno-v4","vote":"b"}""");

        var file = await BattleFile.ReadFileAsync(path);

        Assert.Equal(BattleFormat.Documented, file.Format);
        Assert.Equal(new Battle("1", "suno-v4", "udio", BattleWinner.ModelA, true, "t1", "t2", "v1", new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), "lofi rain"), file.Battles[0]);
        Assert.Equal([BattleWinner.ModelA, BattleWinner.BothBad, BattleWinner.Tie, BattleWinner.ModelB], file.Battles.Select(b => b.Winner));
        Assert.Empty(file.Notes);
    }

    [Fact]
    public async Task FastChat_clean_battles_read_as_a_json_array_or_lines_with_tie_bothbad_as_both_bad_unless_asked()
    {
        const string A = """{"question_id":"q1","model_a":"musicgen","model_b":"lyria","winner":"model_b","judge":"arena_user_1","tstamp":1767225600.5}""";
        const string B = """{"question_id":"q2","model_a":"lyria","model_b":"musicgen","winner":"tie (bothbad)","judge":"arena_user_2","tstamp":1767225700}""";
        var array = Write("clean.json", "[", A + ",", B, "]");
        var lines = Write("clean.jsonl", A, B);

        var fromArray = await BattleFile.ReadFileAsync(array);
        var fromLines = await BattleFile.ReadFileAsync(lines);
        var asTie = await BattleFile.ReadFileAsync(lines, bothBadAsTie: true);

        Assert.Equal(BattleFormat.FastChat, fromArray.Format);
        Assert.Equal(fromArray.Battles, fromLines.Battles);
        Assert.Equal(new Battle("q1", "musicgen", "lyria", BattleWinner.ModelB, Voter: "arena_user_1", Timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_500)), fromArray.Battles[0]);
        Assert.Equal(BattleWinner.BothBad, fromLines.Battles[1].Winner);
        Assert.Equal(BattleWinner.Tie, asTie.Battles[1].Winner);
    }

    [Fact]
    public async Task Same_system_battles_are_kept_and_reported_and_leaderboards_skip_them()
    {
        var path = Write("same.jsonl",
            """{"battle_id":"1","model_a":"x","model_b":"y","winner":"model_a"}""",
            """{"battle_id":"2","model_a":"x","model_b":"x","winner":"model_a"}""",
            """{"battle_id":"3","model_a":"X","model_b":"y","winner":"model_b"}""");

        var file = await BattleFile.ReadFileAsync(path);
        var counts = PairwiseCounts.From(file.Battles);
        var elo = Elo.Run(file.Battles);

        Assert.Equal(3, file.Battles.Count);
        Assert.True(file.Battles[1].SameSystem);
        Assert.Contains(file.Notes, n => n.StartsWith("1 battle(s) between two tracks of one system", StringComparison.Ordinal));
        Assert.Contains(file.Notes, n => n.Contains("'X', 'x' differ only by case", StringComparison.Ordinal));
        Assert.Equal((2, 1), (counts.Battles, counts.SameSystem));
        // The same-system battle moves no rating: x's Elo is what the x-y battle alone gives.
        Assert.Equal(Elo.Run([file.Battles[0]])["x"], elo["x"], 12);
        Assert.Equal(["X", "x", "y"], Leaderboard.Build(file.Battles, ArenaScope.Overall, bootstrap: 0).Select(e => e.System).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"battle_id":"1","a_system":"x","b_system":"y","vote":"maybe"}""", "vote must be a, b, tie or both_bad")]
    [InlineData("""{"battle_id":"1","model_a":"x","model_b":"y","winner":"nobody"}""", "winner must be")]
    [InlineData("""{"a_system":"x","b_system":"y","vote":"a"}""", "battle_id is required")]
    [InlineData("""{"battle_id":"1","a_system":" ","b_system":"y","vote":"a"}""", "a_system is required")]
    [InlineData("""{"battle_id":"1","model_a":"x","model_b":"y","winner":"tie","ts":"yesterday"}""", "ts must be an ISO 8601 time")]
    [InlineData("""{"id":"1"}""", "not a battle")]
    public async Task A_bad_battle_names_its_line_and_rule(string bad, string rule)
    {
        var path = Write("bad.jsonl", "", bad);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => BattleFile.ReadFileAsync(path));

        Assert.Contains("bad.jsonl:2", error.Message, StringComparison.Ordinal);
        Assert.Contains(rule, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_format_per_file()
    {
        var path = Write("mixed.jsonl",
            """{"battle_id":"1","model_a":"x","model_b":"y","winner":"model_a"}""",
            """{"battle_id":"2","a_system":"x","b_system":"y","vote":"a"}""");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => BattleFile.ReadFileAsync(path));

        Assert.Contains("mixed.jsonl:2", error.Message, StringComparison.Ordinal);
        Assert.Contains("one format per file", error.Message, StringComparison.Ordinal);
    }
}
