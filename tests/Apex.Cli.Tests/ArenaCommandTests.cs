using System.Text.Json;

namespace Apex.Cli.Tests;

public sealed class ArenaCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-arena-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Synth_then_leaderboard_gives_the_documented_json_sorted_by_rating()
    {
        var battles = Path.Combine(_folder, "b.jsonl");
        var truth = Path.Combine(_folder, "t.json");
        Assert.Equal(0, (await Apex.RunAsync("arena", "synth", "--systems", "6", "--battles", "3000", "--seed", "4", "--out", battles, "--truth", truth)).ExitCode);

        var (exit, stdout, stderr) = await Apex.RunAsync("arena", "leaderboard", "--battles", battles, "--bootstrap", "200", "--format", "json");

        Assert.True(exit == 0, stderr);
        var rows = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(6, rows.Count);
        Assert.Equal(
            ["system", "rating", "ci_low", "ci_high", "rank_ub", "battles", "wins", "ties", "elo", "provisional"],
            rows[0].EnumerateObject().Select(p => p.Name));
        var ratings = rows.Select(r => r.GetProperty("rating").GetDouble()).ToList();
        Assert.Equal(ratings.OrderDescending(), ratings);
        Assert.All(rows, r => Assert.InRange(r.GetProperty("rating").GetDouble(), r.GetProperty("ci_low").GetDouble(), r.GetProperty("ci_high").GetDouble()));
        var trueBest = JsonDocument.Parse(await File.ReadAllTextAsync(truth)).RootElement.EnumerateObject().MaxBy(p => p.Value.GetDouble()).Name;
        Assert.Equal(trueBest, rows[0].GetProperty("system").GetString());
    }

    [Fact]
    public async Task Arena_eval_reports_classifiers_baselines_and_the_battles_left_out()
    {
        var battles = Path.Combine(_folder, "b.jsonl");
        var scores = Path.Combine(_folder, "s.jsonl");
        Assert.Equal(0, (await Apex.RunAsync("arena", "synth", "--systems", "10", "--battles", "600", "--seed", "2", "--out", battles, "--scores", scores)).ExitCode);

        var (exit, stdout, stderr) = await Apex.RunAsync("arena-eval", "--battles", battles, "--scores", scores, "--folds", "3", "--format", "json");

        Assert.True(exit == 0, stderr);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.True(result.GetProperty("battles").GetInt32() > 400);
        Assert.Equal(["logistic_regression", "random_forest", "gradient_boosting", "adaboost", "svm"], result.GetProperty("classifiers").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["all_scores", "popularity", "songeval", "likes"], result.GetProperty("baselines").EnumerateObject().Select(p => p.Name));
        var lr = result.GetProperty("classifiers").GetProperty("logistic_regression");
        Assert.Equal(["overall", "instrumental", "vocal"], lr.EnumerateObject().Select(p => p.Name));
        Assert.InRange(lr.GetProperty("overall").GetProperty("auc").GetDouble(), 0, 1);
        Assert.True(result.GetProperty("excluded").GetProperty("tie").GetInt32() > 0);

        // The paper's period (its last four months) and its Table 3 layout.
        var (recentExit, recent, recentError) = await Apex.RunAsync("arena-eval", "--battles", battles, "--scores", scores, "--folds", "3", "--months", "4", "--format", "json");
        Assert.True(recentExit == 0, recentError);
        var period = JsonDocument.Parse(recent).RootElement;
        var before = period.GetProperty("excluded").GetProperty("before_period").GetInt32();
        Assert.InRange(before, 380, 420); // eight of the twelve months of 600 battles
        Assert.Equal(result.GetProperty("battles").GetInt32(), period.GetProperty("battles").GetInt32() + before - (result.GetProperty("excluded").GetProperty("tie").GetInt32() - period.GetProperty("excluded").GetProperty("tie").GetInt32()) - (result.GetProperty("excluded").GetProperty("both_bad").GetInt32() - period.GetProperty("excluded").GetProperty("both_bad").GetInt32()));
        var (markdownExit, markdown, _) = await Apex.RunAsync("arena-eval", "--battles", battles, "--scores", scores, "--folds", "3", "--format", "markdown");
        Assert.Equal(0, markdownExit);
        Assert.Contains("| predictor | accuracy | ROC-AUC | instrumental accuracy | instrumental ROC-AUC | vocal accuracy | vocal ROC-AUC |", markdown, StringComparison.Ordinal);
        Assert.Equal(9, markdown.Split('\n').Count(l => l.StartsWith("| ", StringComparison.Ordinal)) - 1);
        Assert.Contains("| Rule: SongEval only |", markdown, StringComparison.Ordinal);
        var (bothExit, _, bothError) = await Apex.RunAsync("arena-eval", "--battles", battles, "--scores", scores, "--since", "2025-06-01", "--months", "4");
        Assert.Equal(2, bothExit);
        Assert.Contains("not both", bothError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_battle_line_is_an_error_with_its_line_number()
    {
        var battles = Path.Combine(_folder, "bad.jsonl");
        await File.WriteAllLinesAsync(battles, ["""{"battle_id":"1","model_a":"x","model_b":"y","winner":"model_a"}""", """{"battle_id":"2","model_a":"x","model_b":"y","winner":"nobody"}"""]);

        var (exit, _, stderr) = await Apex.RunAsync("arena", "leaderboard", "--battles", battles);

        Assert.Equal(2, exit);
        Assert.Contains("bad.jsonl:2", stderr, StringComparison.Ordinal);
    }
}
