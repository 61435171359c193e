using System.Text.Json;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Cli.Tests;

/// <summary>
/// The live trainer's run (<see cref="FineTuning"/> over workers with replicas of their own, what the
/// trainer grain runs over its worker grains) and the offline commands on the checkpoint it writes:
/// <c>apex evaluate</c> on the checkpoint's own data snapshot reproduces the metrics the run stored, and
/// <c>apex train --init</c> on that snapshot from the same serving head makes the same split and the
/// same head, byte for byte.
/// </summary>
public sealed class LiveRunCommandsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-cli-live-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public async Task Apex_evaluate_reproduces_a_live_runs_metrics_and_apex_train_init_its_split_and_weights_from_the_checkpoints_snapshot()
    {
        Assert.Equal(0, (await Apex.RunAsync("dataset", "synth", "--songs", "120", "--seed", "9", "--hidden", "32", "--max-segments", "1", "--out", PathOf("ds.parquet"))).ExitCode);
        var (trainExit, _, trainError) = await Apex.RunAsync("train", "--data", PathOf("ds.parquet"), "--out", PathOf("serving"), "--epochs", "2", "--batch-size", "16", "--device", "cpu");
        Assert.True(trainExit == 0, trainError);

        // The songs as the live trainer snapshots them: one song mean each, popularity labels only.
        var info = await ParquetDataset.ReadInfoAsync(PathOf("ds.parquet"));
        var rows = (await ParquetDataset.ReadAllAsync(PathOf("ds.parquet"))).Select(r =>
        {
            var song = TrainingSet.ToSongMean(r, info);
            (song.Coherence, song.Musicality, song.Memorability, song.Clarity, song.Naturalness) = (null, null, null, null, null);
            return song;
        }).ToList();
        var (serving, parent) = HeadCheckpoint.Load(PathOf("serving"));
        var options = new TrainingOptions { Loss = Enum.Parse<LossStrategy>(parent.Loss, ignoreCase: true), GhostBatches = 4, BatchSize = 8, Epochs = 3, Seed = 42 };
        using (serving)
        using (var run = FineTuning.Prepare(rows, info, serving, options))
        {
            var workers = Enumerable.Range(0, 2).Select(_ => new LocalGradientWorker(serving.Architecture, options)).ToList();
            await run.TrainAsync(WorkerPool.Of([.. workers]));
            workers.ForEach(w => w.Dispose());
            await run.SaveAsync(PathOf("live"), parent, "apex-live-test", "test run", run.Evaluate(run.Candidate));
        }

        var live = JsonDocument.Parse(await File.ReadAllTextAsync(PathOf("live/manifest.json"))).RootElement;
        var split = live.GetProperty("split");
        Assert.Equal((102, 6, 12), (split.GetProperty("train").GetInt32(), split.GetProperty("validation").GetInt32(), split.GetProperty("test").GetInt32()));

        var (evaluateExit, evaluateOut, evaluateError) = await Apex.RunAsync("evaluate", "--model", PathOf("live"), "--data", PathOf("live/" + FineTuning.SnapshotFile), "--split", "test", "--format", "json");
        Assert.True(evaluateExit == 0, evaluateError);
        var evaluation = JsonDocument.Parse(evaluateOut).RootElement;
        Assert.Equal(split.GetProperty("test").GetInt32(), evaluation.GetProperty("rows").GetInt32());
        var stored = live.GetProperty("test_metrics").EnumerateObject().ToList();
        Assert.Equal(["likes", "streams"], stored.Select(t => t.Name).Order());
        foreach (var task in stored)
        {
            foreach (var metric in new[] { "mse", "mae", "pearson", "spearman" })
            {
                Assert.Equal(task.Value.GetProperty(metric).GetDouble(), evaluation.GetProperty("tasks").GetProperty(task.Name).GetProperty(metric).GetDouble());
            }
        }

        var (retrainExit, _, retrainError) = await Apex.RunAsync("train", "--init", PathOf("serving"), "--data", PathOf("live/" + FineTuning.SnapshotFile), "--out", PathOf("offline"),
            "--mode", "song", "--loss", parent.Loss, "--epochs", "3", "--batch-size", "8", "--ghost-batches", "4", "--seed", "42", "--device", "cpu");
        Assert.True(retrainExit == 0, retrainError);
        var offline = JsonDocument.Parse(await File.ReadAllTextAsync(PathOf("offline/manifest.json"))).RootElement;
        Assert.Equal(split.GetRawText(), offline.GetProperty("split").GetRawText());
        Assert.Equal(live.GetProperty("test_metrics").GetRawText(), offline.GetProperty("test_metrics").GetRawText());
        Assert.Equal((parent.Version, parent.Version), (live.GetProperty("parent").GetString(), offline.GetProperty("parent").GetString()));
        Assert.Equal(live.GetProperty("best_epoch").GetInt32(), offline.GetProperty("best_epoch").GetInt32());
        Assert.Equal(await File.ReadAllBytesAsync(PathOf("live/" + HeadCheckpoint.WeightsFile)), await File.ReadAllBytesAsync(PathOf("offline/" + HeadCheckpoint.WeightsFile)));
    }
}
