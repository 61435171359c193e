using Apex.Grains;
using Apex.Grains.Events;
using Apex.Grains.Scoring;
using Apex.Grains.Training;
using Apex.Scoring;
using Apex.Scoring.Training;
using Apex.Core.Popularity;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Training;
using Microsoft.Extensions.DependencyInjection;

namespace Apex.Cluster.Tests;

/// <summary>The trainer end to end on a two-silo cluster: drift, a data-parallel run over both silos, promotion, hot swap, re-scoring, rollback (its re-scoring resumed after the trainer's silo dies).</summary>
public sealed class TrainingTests(ServedModel model) : IClassFixture<ServedModel>, IDisposable
{
    private static readonly string[] Songs = ["brahms-hungarian-dance-5", "macleod-sugar-plum-fairy", "macleod-vibe-ace", "sorohan-solo-trumpet-06"];
    private const int Tracks = 32;

    private readonly string _models = Directory.CreateTempSubdirectory("apex-training-models-").FullName;
    private readonly string _offline = Directory.CreateTempSubdirectory("apex-training-offline-").FullName;
    private TrainerOptions _trainer = new();

    public void Dispose()
    {
        Directory.Delete(_models, recursive: true);
        Directory.Delete(_offline, recursive: true);
    }

    private async Task<ScoringCluster> StartAsync(double margin, int epochs = 60, int patience = 60)
    {
        foreach (var directory in Directory.GetDirectories(model.Folder))
        {
            var target = Directory.CreateDirectory(Path.Combine(_models, Path.GetFileName(directory))).FullName;
            foreach (var file in Directory.GetFiles(directory))
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }

        File.Copy(Path.Combine(model.Folder, ModelRegistry.ServingFile), Path.Combine(_models, ModelRegistry.ServingFile));
        var trainer = _trainer = new TrainerOptions { MinTrainingTracks = 8, MinNewMatureTracks = 8, Epochs = epochs, Patience = patience, BatchSize = 4, GhostBatches = 4, Workers = 2, PromotionMargin = margin, LearningRate = 3e-3 };
        var cluster = await ScoringCluster.StartAsync(_models, new ScoringOptions { AllowCpu = true, MaxBatch = 8 }, [false, false], trainer);

        // Mature tracks on the four recordings, popularity planted by recording (so audio predicts it) and
        // in the opposite order to the serving head's predictions, which a fine-tuned head must learn.
        var ids = Enumerable.Range(0, Tracks).Select(i => $"tr-{i}").ToList();
        await Task.WhenAll(ids.Select((id, i) => cluster.Client.GetGrain<ITrackGrain>(id).RegisterAsync(
            new TrackRegistration("suno", DateTimeOffset.UtcNow.AddDays(-30), Songs[i % 4] + ".ogg", null))));
        // A generous bound: on a busy 2-core runner (CI runs two test projects at once) embedding 32
        // tracks on CPU takes minutes.
        var scored = await cluster.WaitScoredAsync(ids, TimeSpan.FromSeconds(300));
        var rank = Enumerable.Range(0, 4).OrderByDescending(r => scored[r].Scoring!.Scores!.Of("streams")).ToList();
        await using var handoff = new Apex.Grains.Populations.PopulationHandoff(cluster.Client);
        var ingestor = new Apex.Grains.Ingest.EventIngestor(cluster.Log, handoff);
        await ingestor.IngestAsync(ids.Select((id, i) => new EngagementEvent($"e-{id}", id, EventKind.Stream, (long)Math.Pow(10, 1 + rank.IndexOf(i % 4)) + i, DateTimeOffset.UtcNow)).ToList());
        await ingestor.IngestAsync(ids.Select((id, i) => new EngagementEvent($"l-{id}", id, EventKind.Like, (long)Math.Pow(5, 1 + rank.IndexOf(i % 4)) + i, DateTimeOffset.UtcNow)).ToList());
        return cluster;
    }

    private static async Task<TrainingRunView> FinishAsync(ITrainerGrain trainer, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(240);
        TrainingRunView run;
        while ((run = (await trainer.GetRunAsync(id))!).Status == TrainingRunStatus.Running)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run still running at step {run.StepsDone}/{run.Steps}");
            await Task.Delay(500);
        }

        return run;
    }

    [Fact]
    public async Task Drift_starts_a_run_whose_better_model_every_silo_serves_and_scores_with_then_rollback_restores_the_old_one_through_a_silo_death()
    {
        await using var cluster = await StartAsync(margin: 0.05);
        var trainer = cluster.Client.GetGrain<ITrainerGrain>(0);
        var original = new ModelRegistry(_models).ServingVersion()!;

        var drift = await trainer.GetDriftAsync();
        Assert.True(drift.Due, $"not due: {drift}");
        Assert.Equal(Tracks, drift.NewMatureSinceLastRun);
        // The drift is a signal, recorded once however often it is read.
        await trainer.GetDriftAsync();
        var drifts = await cluster.Feed.ReadAfterAsync(0, 100, types: [Apex.Grains.Signals.SignalEvent.CalibrationDrift]);
        var drifted = System.Text.Json.JsonDocument.Parse(Assert.Single(drifts).Data).RootElement;
        Assert.Equal((original, Tracks), (drifted.GetProperty("model_version").GetString(), drifted.GetProperty("new_mature_since_last_run").GetInt32()));
        var run = await FinishAsync(trainer, (await trainer.StartAsync("drift")).Id);

        Assert.True(run.Status == TrainingRunStatus.Promoted, $"{run.Status}: {run.Decision} {run.Error}");
        Assert.Equal(2, run.Workers);
        Assert.True(run.Candidate!.MeanPearson > (run.Serving!.MeanPearson ?? 0) + 0.05, run.Decision);
        var promoted = run.Candidate.Version;
        Assert.Equal(promoted, new ModelRegistry(_models).ServingVersion());
        Assert.Equal(Tracks, run.Rescored);
        // Every silo serves it, and every track's scores carry it.
        Assert.All(cluster.Cluster.Silos, s => Assert.Equal(promoted, s.ServiceProvider.GetRequiredService<IModelHost>().Serving!.Value.Version));
        var scored = await Task.WhenAll(Enumerable.Range(0, Tracks).Select(i => cluster.Client.GetGrain<ITrackGrain>($"tr-{i}").GetAsync()));
        Assert.All(scored, v => Assert.Equal(promoted, v!.Scoring!.Scores!.ModelVersion));
        Assert.False((await trainer.GetDriftAsync()).Due); // nothing new since the run
        var rollout = await trainer.GetRolloutAsync();
        Assert.Equal((promoted, run.Id, Tracks, Tracks), (rollout!.Version, rollout.RunId, rollout.Total, rollout.Done));
        Assert.NotNull(rollout.FinishedAt);
        await TheCheckpointCarriesItsOwnRunAsync(cluster, promoted, run);

        // The rollback's re-scoring is cut short by the death of the trainer's silo: it is in the trainer's
        // stored state, so the trainer's next activation (on the other silo) resumes and finishes it.
        Assert.Equal(original, await trainer.RollbackAsync());
        var cutShort = await trainer.GetRolloutAsync();
        Assert.True(cutShort!.FinishedAt is null, "the rollout finished before the silo died; the test would prove nothing");
        var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(trainer);
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(host)));
        var deadline = DateTime.UtcNow.AddSeconds(150);
        RolloutView? resumed = null;
        while (resumed?.FinishedAt is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the rollout was not resumed and finished: {resumed}");
            await Task.Delay(500);
            try
            {
                resumed = await trainer.GetRolloutAsync();
            }
            catch (Exception ex) when (ex is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                // the dead silo is still being declared dead
            }
        }

        Assert.Equal((original, cutShort.StartedAt, Tracks, Tracks), (resumed.Version, resumed.StartedAt, resumed.Total, resumed.Done));
        var views = await Task.WhenAll(Enumerable.Range(0, Tracks).Select(i => cluster.Client.GetGrain<ITrackGrain>($"tr-{i}").GetAsync()));
        Assert.All(views, v => Assert.Equal(original, v!.Scoring!.Scores!.ModelVersion));
    }

    /// <summary>
    /// The promoted checkpoint's manifest is its own run's: its data snapshot is in the checkpoint, whose
    /// labels are the labeler's live reading of the ingest log; the split re-derived from that file with
    /// the manifest's seed is the stored one; <c>apex evaluate</c>'s computation on its test part gives
    /// the stored metrics and the run's figures, to the last digit; and <c>apex train --init</c>'s run
    /// (<see cref="TrainingRun"/>) on that file from the parent checkpoint with the trainer's settings, in
    /// this process, gives the head the two silos' workers trained, byte for byte.
    /// </summary>
    private async Task TheCheckpointCarriesItsOwnRunAsync(ScoringCluster cluster, string promoted, TrainingRunView run)
    {
        var folder = Path.Combine(_models, promoted);
        var (head, manifest) = HeadCheckpoint.Load(folder);
        using var _ = head;
        var snapshot = Path.Combine(folder, FineTuning.SnapshotFile);
        var info = await ParquetDataset.ReadInfoAsync(snapshot);
        var rows = await ParquetDataset.ReadAllAsync(snapshot);
        Assert.Equal(Tracks, rows.Count);
        Assert.Contains(FineTuning.SnapshotFile, manifest.DataSnapshot, StringComparison.Ordinal);

        var totals = await cluster.Log.ReadPlatformTotalsAsync("suno");
        var labels = SongLabeler.Label(totals.Select(t => new SongCounts(t.TrackId, "suno", t.Streams, t.Likes)).ToList(), LabelingOptions.Live).Kept.ToDictionary(l => l.Song.TrackId);
        Assert.All(rows, r => Assert.Equal(((float?)labels[r.TrackId].StreamsScore, (float?)labels[r.TrackId].LikesScore), (r.Streams, r.Likes)));

        var mode = Enum.Parse<InputMode>(manifest.InputMode, ignoreCase: true);
        var parts = await SplitParts.ReadAsync(snapshot, info, manifest.SplitSeed, mode, trainInMemory: false);
        Assert.Equal(manifest.Split, SplitManifest.Of(parts, manifest.SplitSeed));
        Assert.Equal((27, 2, 3), (manifest.Split!.Train, manifest.Split.Validation, manifest.Split.Test)); // 85 / 5 / 10 of 32

        var test = TrainingSet.Build(parts.Test, info, head.Architecture.Tasks, mode);
        var evaluated = MetricsManifest.Of(Predictor.Evaluate(Predictor.PredictSongs(head, test), test));
        Assert.Equal(manifest.TestMetrics.OrderBy(m => m.Key), evaluated.OrderBy(m => m.Key));
        Assert.Equal(manifest.TestMetrics["streams"].Pearson, run.Candidate!.StreamsPearson);
        Assert.Equal(manifest.Split.Test, run.Candidate.HeldOutTracks);

        var offline = await TrainingRun.RunAsync(snapshot, Path.Combine(_offline, "offline"), _trainer.Training(Enum.Parse<LossStrategy>(manifest.Loss, ignoreCase: true)),
            init: Path.Combine(_models, manifest.Parent!));
        offline.Trained.Head.Dispose();
        Assert.Equal((manifest.BestEpoch, run.BestEpoch), (offline.Manifest.BestEpoch, offline.Manifest.BestEpoch));
        Assert.Equal(manifest.TestMetrics.OrderBy(m => m.Key), offline.Manifest.TestMetrics.OrderBy(m => m.Key));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(folder, HeadCheckpoint.WeightsFile)), await File.ReadAllBytesAsync(Path.Combine(_offline, "offline", HeadCheckpoint.WeightsFile)));
    }

    [Fact]
    public async Task A_candidate_that_is_not_better_by_the_margin_is_not_promoted()
    {
        await using var cluster = await StartAsync(margin: 2.0); // no Pearson gain can reach 2
        var trainer = cluster.Client.GetGrain<ITrainerGrain>(0);
        var original = new ModelRegistry(_models).ServingVersion();

        var run = await FinishAsync(trainer, (await trainer.StartAsync("test")).Id);

        Assert.Equal(TrainingRunStatus.NotPromoted, run.Status);
        Assert.StartsWith("kept ", run.Decision, StringComparison.Ordinal);
        Assert.NotNull(run.Candidate!.MeanPearson);
        Assert.Equal(original, new ModelRegistry(_models).ServingVersion());
    }

    [Fact]
    public async Task A_run_whose_trainer_silo_dies_is_marked_failed_with_the_reason_not_left_running()
    {
        await using var cluster = await StartAsync(margin: 0.05, epochs: 100_000, patience: 100_000);
        var trainer = cluster.Client.GetGrain<ITrainerGrain>(0);
        var run = await trainer.StartAsync("test");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await trainer.GetRunAsync(run.Id))!.StepsDone == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the run never stepped");
            await Task.Delay(200);
        }

        var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(trainer);
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(host)));

        TrainingRunView after;
        deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            try
            {
                after = (await trainer.GetRunAsync(run.Id))!;
                if (after.Status != TrainingRunStatus.Running)
                {
                    break;
                }
            }
            catch (Exception ex) when (ex is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                // the dead silo is still being declared dead
            }

            Assert.True(DateTime.UtcNow < deadline, "the interrupted run was left running");
            await Task.Delay(500);
        }

        Assert.Equal(TrainingRunStatus.Failed, after.Status);
        Assert.Contains("stopped during the run", after.Error, StringComparison.Ordinal);
    }
}
