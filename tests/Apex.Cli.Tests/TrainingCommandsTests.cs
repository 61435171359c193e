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
        Assert.Equal("4 × 64", manifest.GetProperty("batch").GetString()); // the paper's four ghost batches per step

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

        // A head scores only embeddings of the encoder it was trained on. Synthetic data records none; a
        // head that records another encoder is refused, offline and live, with the reason.
        Assert.Equal(JsonValueKind.Null, manifest.GetProperty("encoder").ValueKind);
        var tinyHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx"))));
        var tiny = $"tiny-mert (sha256:{tinyHash[..16]}, 4×32, 24000 Hz)";
        const string other = "mert-v1-95m (sha256:00112233445566aa, 4×32, 24000 Hz)";
        var manifestPath = PathOf("model/manifest.json");
        var original = await File.ReadAllTextAsync(manifestPath);
        await File.WriteAllTextAsync(manifestPath, original.Replace("\"encoder\": null", $"\"encoder\": \"{other}\"", StringComparison.Ordinal));
        var (refusedExit, _, refusedError) = await Apex.RunAsync("score", "--model", PathOf("model"), Apex.Sample("macleod-vibe-ace.ogg"));
        Assert.Equal(2, refusedExit);
        Assert.Contains($"it was trained on embeddings of {other}, and these come from {tiny}", refusedError, StringComparison.Ordinal);
        using (var host = new global::Apex.Scoring.ModelHost(PathOf("model")))
        {
            var embedding = new global::Apex.Grains.Scoring.EmbedOutcome(global::Apex.Grains.Scoring.EmbedStatus.Embedded, null, 1, 4, 32, new float[128], tiny, "silo", 30);
            var live = Assert.Throws<InvalidOperationException>(() => host.Predict(embedding, "embeddings:x", DateTimeOffset.UtcNow));
            Assert.Contains("does not score this track: it was trained on embeddings of " + other, live.Message, StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(manifestPath, original.Replace("\"encoder\": null", $"\"encoder\": \"{tiny}\"", StringComparison.Ordinal));
        Assert.Equal(0, (await Apex.RunAsync("score", "--model", PathOf("model"), Apex.Sample("macleod-vibe-ace.ogg"))).ExitCode);
        await File.WriteAllTextAsync(manifestPath, original);

        // JSON Lines named by file: exactly what arena-eval reads beside a battle file naming those tracks.
        string[] songs = ["macleod-vibe-ace", "brahms-hungarian-dance-5", "sorohan-solo-trumpet-06", "macleod-sugar-plum-fairy"];
        var (linesExit, jsonl, linesError) = await Apex.RunAsync(["score", "--model", PathOf("model"), "--format", "jsonl", .. songs.Select(n => Apex.Sample(n + ".ogg"))]);
        Assert.True(linesExit == 0, linesError);
        var scored = jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(songs.Order(), scored.Select(l => l.GetProperty("track_id").GetString()).Order());
        Assert.Equal(score.GetProperty("scores").GetProperty("streams").GetDouble(), scored.Single(l => l.GetProperty("track_id").GetString() == songs[0]).GetProperty("streams").GetDouble(), 5);
        await File.WriteAllTextAsync(PathOf("scores.jsonl"), jsonl);
        var battles = Enumerable.Range(0, 60).Select(i => JsonSerializer.Serialize(new
        {
            battle_id = $"b{i}", model_a = $"system-{i % 4}", model_b = $"system-{(i + 1) % 4}", winner = i % 3 == 0 ? "model_b" : "model_a",
            instrumental = i % 2 == 0, track_a = songs[i % 4], track_b = songs[(i + 1) % 4],
        }));
        await File.WriteAllLinesAsync(PathOf("battles.jsonl"), battles);
        var (evalBattlesExit, evalBattles, evalBattlesError) = await Apex.RunAsync("arena-eval", "--battles", PathOf("battles.jsonl"), "--scores", PathOf("scores.jsonl"), "--folds", "3", "--format", "json");
        Assert.True(evalBattlesExit == 0, evalBattlesError);
        Assert.Equal(60, JsonDocument.Parse(evalBattles).RootElement.GetProperty("battles").GetInt32());
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
        // Every metric of every task: 7 tasks × MSE, MAE, Pearson, Spearman; popularity-only rows leave the aesthetics empty.
        var header = csv[0].Split(',');
        Assert.Equal(7 + 28, header.Length);
        Assert.Contains("naturalness_spearman", header);
        var cMetrics = csv.Single(l => l.StartsWith("C-popularity,", StringComparison.Ordinal)).Split(',');
        Assert.All(cMetrics[(7 + 8)..], cell => Assert.Equal("", cell));
        Assert.All(csv.Single(l => l.StartsWith("C-full,", StringComparison.Ordinal)).Split(',')[7..], cell => Assert.True(double.TryParse(cell, System.Globalization.CultureInfo.InvariantCulture, out _), cell));
        // The paper's two tables: Table 1 with every condition, Table 2 with the twelve full-task models.
        var md = await File.ReadAllTextAsync(PathOf("abl/results.md"));
        Assert.Contains("| C-full | uncertainty | 2 | song | full |", md, StringComparison.Ordinal);
        var table2 = md[md.IndexOf("Table 2.", StringComparison.Ordinal)..].Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)).ToList();
        Assert.Equal(13, table2.Count); // header + A..L
        Assert.Contains("coherence MSE", table2[0], StringComparison.Ordinal);
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
