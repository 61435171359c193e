using System.Text.Json;

namespace Apex.Cli.Tests;

/// <summary>The training commands end to end: synth → train → evaluate / predict / score → ablate.</summary>
public sealed class TrainingCommandsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-cli-training-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public async Task Synth_train_evaluate_predict_and_score_work_together()
    {
        // hidden 32 matches the bundled tiny encoder, so the model can score real audio through it.
        Assert.Equal(0, (await Apex.RunAsync("dataset", "synth", "--songs", "400", "--seed", "5", "--hidden", "32", "--max-segments", "2", "--out", PathOf("ds.parquet"))).ExitCode);

        var (trainExit, trainOut, trainErr) = await Apex.RunAsync("train", "--data", PathOf("ds.parquet"), "--out", PathOf("model"), "--condition", "C", "--epochs", "4", "--batch-size", "64", "--device", "cpu");
        Assert.True(trainExit == 0, trainErr);
        Assert.Contains("synthetic-demo", trainErr, StringComparison.Ordinal);
        Assert.Contains("naturalness", trainOut, StringComparison.Ordinal);
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(PathOf("model/manifest.json"))).RootElement;
        Assert.Equal("uncertainty", manifest.GetProperty("loss").GetString());

        var (evalExit, evalOut, _) = await Apex.RunAsync("evaluate", "--model", PathOf("model"), "--data", PathOf("ds.parquet"), "--split", "test", "--format", "json");
        Assert.Equal(0, evalExit);
        var evaluation = JsonDocument.Parse(evalOut).RootElement;
        // The test part: a tenth of every streams-percentile decile.
        var split = global::Apex.Training.Data.DatasetSplit.Stratified(await global::Apex.Training.Data.ParquetDataset.ReadStreamsAsync(PathOf("ds.parquet")), manifest.GetProperty("split_seed").GetInt32());
        Assert.Equal(split.Test.Length, evaluation.GetProperty("rows").GetInt32());
        Assert.InRange(split.Test.Length, 38, 42);
        // The test split re-derived from the manifest's seed gives the metrics stored at training time.
        Assert.Equal(
            manifest.GetProperty("test_metrics").GetProperty("streams").GetProperty("mse").GetDouble(),
            evaluation.GetProperty("tasks").GetProperty("streams").GetProperty("mse").GetDouble(),
            6);

        Assert.Equal(0, (await Apex.RunAsync("predict", "--model", PathOf("model"), "--data", PathOf("ds.parquet"), "--out", PathOf("p.csv"))).ExitCode);
        var lines = await File.ReadAllLinesAsync(PathOf("p.csv"));
        Assert.Equal(401, lines.Length);
        Assert.Equal("track_id,streams,likes,coherence,musicality,memorability,clarity,naturalness", lines[0]);

        var (scoreExit, scoreOut, _) = await Apex.RunAsync("score", "--model", PathOf("model"), "--format", "json", "--segments", Apex.Sample("macleod-vibe-ace.ogg"));
        Assert.Equal(0, scoreExit);
        var score = JsonDocument.Parse(scoreOut).RootElement;
        Assert.Equal("synthetic-demo", score.GetProperty("model_label").GetString());
        Assert.Equal(3, score.GetProperty("segments").GetArrayLength());
        Assert.InRange(score.GetProperty("scores").GetProperty("streams").GetDouble(), 0, 100);
        Assert.InRange(score.GetProperty("scores").GetProperty("clarity").GetDouble(), 1, 5);
    }

    [Fact]
    public async Task Ablate_writes_all_24_conditions_and_resumes()
    {
        await Apex.RunAsync("dataset", "synth", "--songs", "120", "--seed", "2", "--hidden", "8", "--max-segments", "2", "--out", PathOf("ds.parquet"));

        var (exit, _, stderr) = await Apex.RunAsync("ablate", "--data", PathOf("ds.parquet"), "--out", PathOf("abl"), "--epochs", "1", "--batch-size", "32", "--device", "cpu");

        Assert.True(exit == 0, stderr);
        var csv = await File.ReadAllLinesAsync(PathOf("abl/results.csv"));
        Assert.Equal(25, csv.Length);
        Assert.Equal(24, csv.Skip(1).Select(l => l.Split(',')[0]).Distinct().Count());
        Assert.Equal(24, JsonDocument.Parse(await File.ReadAllTextAsync(PathOf("abl/results.json"))).RootElement.GetArrayLength());
        Assert.Contains("| C-full | uncertainty | 2 | song | full |", await File.ReadAllTextAsync(PathOf("abl/results.md")), StringComparison.Ordinal);
        var plots = Directory.GetFiles(PathOf("abl/plots"), "*.png");
        Assert.Equal(7, plots.Length);
        Assert.All(plots, p => Assert.Equal(0x89, File.ReadAllBytes(p)[0])); // PNG signature

        Directory.Delete(PathOf("abl/K-full"), recursive: true);
        var (again, _, log) = await Apex.RunAsync("ablate", "--data", PathOf("ds.parquet"), "--out", PathOf("abl"), "--epochs", "1", "--batch-size", "32", "--device", "cpu");
        Assert.Equal(0, again);
        Assert.Equal(23, log.Split('\n').Count(l => l.Contains("read back", StringComparison.Ordinal)));
        Assert.True(Directory.Exists(PathOf("abl/K-full")));
    }

    [Theory]
    [InlineData("train", "--data", "missing.parquet", "--out", "m")]
    [InlineData("train", "--data", "ds.parquet", "--out", "m", "--condition", "Z")]
    [InlineData("evaluate", "--model", "nowhere", "--data", "ds.parquet")]
    public async Task Bad_arguments_fail_with_a_message(params string[] arguments)
    {
        await Apex.RunAsync("dataset", "synth", "--songs", "50", "--hidden", "8", "--out", PathOf("ds.parquet"));
        var resolved = arguments.Select(a => a.EndsWith(".parquet", StringComparison.Ordinal) || a is "m" or "nowhere" ? PathOf(a) : a).ToArray();

        var (exit, _, stderr) = await Apex.RunAsync(resolved);

        Assert.Equal(2, exit);
        Assert.Contains("error:", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal); // a message, not a stack trace
    }
}
