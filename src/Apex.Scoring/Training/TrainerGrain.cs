using Apex.Core.Metrics;
using Apex.Core.Popularity;
using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Apex.Grains.Training;
using Apex.Training.Checkpoints;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Training;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using static TorchSharp.torch;

namespace Apex.Scoring.Training;

/// <summary>How the cluster retrains itself (section Apex:Training).</summary>
public sealed record TrainerOptions
{
    /// <summary>How often the drift check runs (an Orleans reminder; at least a minute).</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Train when this many new mature scored tracks arrived since the last run…</summary>
    public int MinNewMatureTracks { get; init; } = 200;

    /// <summary>… or when this share of the mature tracks moved by more than <see cref="MovedPoints"/> popularity points.</summary>
    public double MovedShare { get; init; } = 0.2;

    public double MovedPoints { get; init; } = 10;

    /// <summary>Fewer labelled mature tracks than this and no run starts.</summary>
    public int MinTrainingTracks { get; init; } = 20;

    public int MaturityDays { get; init; } = 14;

    public int Workers { get; init; } = 2;

    public int GhostBatches { get; init; } = 4;

    public int GlobalBatch { get; init; } = 64;

    public int Epochs { get; init; } = 30;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>A candidate is promoted only if its mean Pearson over the popularity tasks beats the serving model's by this much.</summary>
    public double PromotionMargin { get; init; } = 0.01;

    public int RescoreConcurrency { get; init; } = 8;

    public int Seed { get; init; } = 42;
}

[GenerateSerializer]
[Alias("Apex.Scoring.Training.TrainerState")]
public sealed class TrainerState
{
    [Id(0)]
    public List<TrainingRunView> Runs { get; set; } = [];

    [Id(1)]
    public DateTimeOffset? LastRunAt { get; set; }

    /// <summary>Each mature track's popularity labels when the last run started (drift is measured against them).</summary>
    [Id(2)]
    public Dictionary<string, float[]> LastLabels { get; set; } = [];
}

/// <summary>
/// The trainer. A run: snapshot the mature scored tracks (song-mean embeddings from the score store,
/// labels = their live popularity scores; no aesthetic labels exist in the cluster, so those branches are
/// kept as the serving model has them), fine-tune the serving head with K data-parallel worker grains,
/// evaluate candidate and serving head on the same held-out tracks, promote if better by the margin
/// (registry + SERVING: every silo's model watcher swaps it in), then re-score the tracks, throttled.
/// A run interrupted by a restart of this grain's silo is marked failed with that reason at reactivation;
/// a worker lost mid-run fails the step, which is retried from the coordinator's last state (the last
/// completed step) on freshly placed workers.
/// </summary>
[Reentrant]
public sealed partial class TrainerGrain(
    [PersistentState("trainer", StorageNames.Tracks)] IPersistentState<TrainerState> state,
    ILogger<TrainerGrain> logger,
    IIngestLog log,
    ModelRegistry? models = null,
    IScoreStore? scores = null,
    EmbedderDirectory? embedders = null,
    TrainerOptions? settings = null) : Grain, ITrainerGrain, IRemindable
{
    private const int MaxRetries = 3;
    private Task? _running;
    private IGrainTimer? _keepAlive;

    public const string MeterName = "Apex.Training";

    private static readonly System.Diagnostics.Metrics.Meter Meter = new(MeterName);
    /// <summary>Runs finished in this process by outcome; every outcome is exported from the start (at 0), so dashboards never miss the series.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> RunsByOutcome = new() { ["promoted"] = 0, ["not_promoted"] = 0, ["failed"] = 0 };

    static TrainerGrain()
    {
        Meter.CreateObservableCounter("apex.training.runs", () => RunsByOutcome.Select(r => new System.Diagnostics.Metrics.Measurement<long>(r.Value, new KeyValuePair<string, object?>("outcome", r.Key))),
            "{run}", "Training runs finished, by outcome (promoted, not_promoted, failed).");
        Meter.CreateObservableGauge("apex.training.rescore.done", () => RescoreProgress.Done, "{track}", "Tracks re-scored with the version being rolled out.");
        Meter.CreateObservableGauge("apex.training.rescore.target", () => RescoreProgress.Total, "{track}", "Tracks to re-score with the version being rolled out.");
    }

    /// <summary>The re-scoring in progress or last finished in this process: version, tracks, done (read by the metrics).</summary>
    public static (string Version, int Total, int Done) RescoreProgress { get; private set; }

    private TrainerOptions Settings => settings ?? new TrainerOptions();

    // A silo without the scoring services (some tests) can hold the trainer but cannot train.
    private ModelRegistry Registry => models ?? throw new InvalidOperationException("This silo has no model registry: training is off here.");

    private IScoreStore ScoreStore => scores ?? throw new InvalidOperationException("This silo has no score store: training is off here.");

    public static DataParallelOptions Options(int ghostBatches, int globalBatch, int seed, double learningRate = 1e-3) =>
        new() { GhostBatches = ghostBatches, GlobalBatch = globalBatch, Training = new TrainingOptions { Seed = seed, LearningRate = learningRate } };

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interrupted = state.State.Runs.Where(r => r.Status == TrainingRunStatus.Running).ToList();
        foreach (var run in interrupted)
        {
            Replace(run with { Status = TrainingRunStatus.Failed, FinishedAt = DateTimeOffset.UtcNow, Error = "the trainer's silo stopped during the run; start a new one" });
        }

        if (interrupted.Count > 0)
        {
            await state.WriteStateAsync(cancellationToken);
        }

        var interval = Settings.CheckInterval < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : Settings.CheckInterval;
        await this.RegisterOrUpdateReminder("drift", interval, interval, cancellationToken);
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        var drift = await DriftAsync();
        if (drift.Due)
        {
            await StartAsync($"drift: {drift.NewMatureSinceLastRun} new mature tracks, {drift.MovedShare:P0} moved");
        }
    }

    Task<TrainingRunView?> ITrainerGrain.GetRunAsync(string id) => Task.FromResult(state.State.Runs.FirstOrDefault(r => r.Id == id));

    Task<IReadOnlyList<TrainingRunView>> ITrainerGrain.ListRunsAsync() => Task.FromResult<IReadOnlyList<TrainingRunView>>(state.State.Runs.ToList());

    Task<DriftView> ITrainerGrain.GetDriftAsync() => DriftAsync();

    Task<TrainingRunView> ITrainerGrain.StartAsync(string reason) => StartAsync(reason);

    Task<string> ITrainerGrain.PromoteAsync(string version)
    {
        Registry.Serve(version);
        _ = RescoreAsync(null, version, Settings);
        return Task.FromResult(version);
    }

    Task<string?> ITrainerGrain.RollbackAsync()
    {
        var version = Registry.Rollback();
        if (version is not null)
        {
            _ = RescoreAsync(null, version, Settings);
        }

        return Task.FromResult(version);
    }

    private async Task<TrainingRunView> StartAsync(string reason)
    {
        if (state.State.Runs.FirstOrDefault(r => r.Status == TrainingRunStatus.Running) is { } running)
        {
            return running;
        }

        var run = new TrainingRunView($"run-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}", TrainingRunStatus.Running, reason,
            DateTimeOffset.UtcNow, null, 0, 0, 0, 0, null, null, null, null, 0, 0, 0);
        state.State.Runs.Insert(0, run);
        state.State.Runs = state.State.Runs.Take(50).ToList();
        await state.WriteStateAsync();
        _keepAlive ??= this.RegisterGrainTimer(() => Task.CompletedTask, new GrainTimerCreationOptions(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)) { KeepAlive = true, Interleave = true });
        _running = RunAsync(run.Id);
        return run;
    }

    private async Task RunAsync(string id)
    {
        try
        {
            await ExecuteAsync(id);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogRunFailed(logger, id, ex);
            Replace(Run(id) with { Status = TrainingRunStatus.Failed, FinishedAt = DateTimeOffset.UtcNow, Error = $"{ex.GetType().Name}: {ex.Message}" });
            await state.WriteStateAsync();
        }
        finally
        {
            _keepAlive?.Dispose();
            _keepAlive = null;
            RunsByOutcome.AddOrUpdate(Run(id).Status switch
            {
                TrainingRunStatus.Promoted => "promoted",
                TrainingRunStatus.NotPromoted => "not_promoted",
                _ => "failed",
            }, 1, (_, n) => n + 1);
        }
    }

    private async Task ExecuteAsync(string id)
    {
        var options = Settings;
        var registry = Registry;
        var servingDirectory = registry.ServingDirectory() ?? throw new InvalidOperationException("No model is serving: a run fine-tunes the serving model.");
        var (serving, manifest) = HeadCheckpoint.Load(servingDirectory);
        using var _ = serving;
        var architecture = serving.Architecture;
        var snapshot = await SnapshotAsync(architecture, manifest.Encoder, options);
        if (snapshot.Count < options.MinTrainingTracks)
        {
            throw new InvalidOperationException($"{snapshot.Count} mature scored tracks with labels; a run needs {options.MinTrainingTracks}.");
        }

        state.State.LastRunAt = DateTimeOffset.UtcNow;
        state.State.LastLabels = snapshot.ToDictionary(s => s.TrackId, s => new[] { s.Labels[0], s.Labels[1] });
        var heldOut = snapshot.Where(s => HeldOut(s.TrackId)).ToList();
        var train = snapshot.Where(s => !HeldOut(s.TrackId)).ToList();
        var dp = Options(options.GhostBatches, Math.Min(options.GlobalBatch, Math.Max(2 * options.GhostBatches, train.Count)), options.Seed, options.LearningRate);
        var workers = Enumerable.Range(1, Math.Min(options.Workers, dp.GhostBatches)).Last(k => dp.GhostBatches % k == 0);
        var steps = (long)options.Epochs * Math.Max(1, (int)Math.Ceiling(train.Count / (double)dp.GlobalBatch));
        Replace(Run(id) with { Workers = workers, Steps = steps, TrainingTracks = train.Count });

        using var coordinator = new DataParallelCoordinator(architecture, architecture.Tasks, dp);
        coordinator.Replica.LoadHead(serving);
        var pool = await StartWorkersAsync(id, 0, workers, train, architecture, dp);
        var retries = 0;
        while (coordinator.Step < steps)
        {
            try
            {
                await coordinator.StepAsync(pool);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && retries < MaxRetries)
            {
                // A worker (or its silo) was lost: the coordinator still holds the last completed step.
                retries++;
                LogStepRetried(logger, id, coordinator.Step, ex);
                pool = await StartWorkersAsync(id, retries, workers, train, architecture, dp);
            }

            Replace(Run(id) with { StepsDone = coordinator.Step, Retries = retries });
        }

        var candidate = Evaluate(coordinator.Replica.Head, heldOut, "candidate");
        var current = Evaluate(serving, heldOut, manifest.Version);
        var better = (candidate.MeanPearson ?? double.NegativeInfinity) - (current.MeanPearson ?? 0) >= options.PromotionMargin;
        if (!better)
        {
            Replace(Run(id) with
            {
                Status = TrainingRunStatus.NotPromoted, FinishedAt = DateTimeOffset.UtcNow, Candidate = candidate, Serving = current,
                Decision = $"kept {manifest.Version}: the candidate's mean Pearson ({candidate.MeanPearson:0.000}) does not beat it ({current.MeanPearson:0.000}) by {options.PromotionMargin}",
            });
            await state.WriteStateAsync();
            return;
        }

        var version = $"apex-{DateTime.UtcNow:yyyyMMdd-HHmmss}-live";
        var head = coordinator.Replica.Head;
        head.eval();
        HeadCheckpoint.Save(Path.Combine(registry.Folder, version), head, manifest with
        {
            Version = version,
            Label = null,
            DataSnapshot = $"cluster: {snapshot.Count} mature scored tracks (popularity labels), run {id}, fine-tuned from {manifest.Version}",
            // The encoder of the embeddings it was fine-tuned on (the parent's, or the one encoder they all come from).
            Encoder = manifest.Encoder ?? (snapshot.Select(s => s.Encoder).Distinct(StringComparer.Ordinal).ToList() is [var only] ? only : null),
            CreatedAt = DateTimeOffset.UtcNow,
        });
        registry.Serve(version);
        Replace(Run(id) with
        {
            Candidate = candidate with { Version = version }, Serving = current,
            Decision = $"promoted {version}: mean Pearson {candidate.MeanPearson:0.000} against {current.MeanPearson:0.000} for {manifest.Version}",
        });
        await state.WriteStateAsync();
        await RescoreAsync(id, version, options);
        Replace(Run(id) with { Status = TrainingRunStatus.Promoted, FinishedAt = DateTimeOffset.UtcNow });
        await state.WriteStateAsync();
    }

    private async Task<List<IGradientWorker>> StartWorkersAsync(string id, int attempt, int workers, List<Sample> train, HeadArchitecture architecture, DataParallelOptions dp)
    {
        var keys = (embedders ?? throw new InvalidOperationException("This silo has no embedder directory: training is off here.")).EmbedderKeys();
        if (keys.Count == 0)
        {
            throw new InvalidOperationException("No silo can host training workers: none has gpu=true, and none allows CPU work (Apex:Embedding:AllowCpu).");
        }

        var pool = new List<IGradientWorker>();
        for (var k = 0; k < workers; k++)
        {
            var ghosts = dp.GhostsOf(k, workers).ToHashSet();
            var mine = Enumerable.Range(0, train.Count).Where(i => ghosts.Contains(i % dp.GhostBatches)).ToArray();
            var grain = GrainFactory.GetGrain<ITrainingWorkerGrain>($"{keys[k % keys.Count]}|{id}|{attempt}|{k}");
            await grain.LoadAsync(new WorkerShard(
                architecture.Layers, architecture.Hidden, architecture.Tasks.Select(t => t.Name).ToList(), train.Count, mine,
                mine.SelectMany(i => train[i].Features).ToArray(), mine.SelectMany(i => train[i].Labels).ToArray(), dp.GhostBatches, dp.GlobalBatch, dp.Training.Seed,
                [.. architecture.Trunk], architecture.BranchWidth, architecture.TrunkDropout, architecture.BranchDropout));
            pool.Add(new GrainGradientWorker(grain));
        }

        return pool;
    }

    private async Task RescoreAsync(string? id, string version, TrainerOptions options)
    {
        var store = ScoreStore;
        var tracks = new List<string>();
        foreach (var platform in await store.PlatformsAsync())
        {
            tracks.AddRange((await store.LoadPredictionsAsync(platform)).Select(p => p.TrackId));
        }

        if (id is not null)
        {
            Replace(Run(id) with { RescoreTotal = tracks.Count });
        }

        RescoreProgress = (version, tracks.Count, 0);
        var done = 0;
        using var gate = new SemaphoreSlim(options.RescoreConcurrency);
        await Task.WhenAll(tracks.Select(async track =>
        {
            await gate.WaitAsync();
            try
            {
                // Every silo's model watcher picks the new version up within seconds; until then, wait.
                for (var attempt = 0; attempt < 60 && !await GrainFactory.GetGrain<ITrackGrain>(track).RescoreAsync(version); attempt++)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1));
                }
            }
            finally
            {
                gate.Release();
            }

            var count = Interlocked.Increment(ref done);
            RescoreProgress = (version, tracks.Count, count);
            if (id is not null)
            {
                Replace(Run(id) with { Rescored = count });
            }
        }));
    }

    private async Task<DriftView> DriftAsync()
    {
        // No drift before a model serves: a run fine-tunes the serving model.
        var serving = models?.ServingDirectory();
        var labels = serving is not null && File.Exists(Path.Combine(serving, HeadCheckpoint.ManifestFile)) ? await LabelsAsync(Settings) : [];
        var known = labels.Where(l => state.State.LastLabels.ContainsKey(l.Key)).ToList();
        var moved = known.Count(l => Math.Abs(Nan0(l.Value[0]) - Nan0(state.State.LastLabels[l.Key][0])) > Settings.MovedPoints
            || Math.Abs(Nan0(l.Value[1]) - Nan0(state.State.LastLabels[l.Key][1])) > Settings.MovedPoints);
        var newMature = labels.Count - known.Count;
        var movedShare = known.Count == 0 ? 0 : moved / (double)known.Count;
        var due = labels.Count >= Settings.MinTrainingTracks && (newMature >= Settings.MinNewMatureTracks || movedShare >= Settings.MovedShare);
        return new DriftView(labels.Count, newMature, movedShare, due, state.State.LastRunAt);
    }

    private static float Nan0(float v) => float.IsNaN(v) ? 0 : v;

    /// <summary>
    /// Each mature scored track's live popularity labels, from the project's one labeler with the live
    /// reading (<see cref="LabelingOptions.Live"/>): tracks without streams are not labels, and no likes
    /// is NaN (no likes label).
    /// </summary>
    private async Task<Dictionary<string, float[]>> LabelsAsync(TrainerOptions options)
    {
        var store = ScoreStore;
        var cutoff = DateTimeOffset.UtcNow - TimeSpan.FromDays(options.MaturityDays);
        var labels = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var platform in await store.PlatformsAsync())
        {
            var mature = (await store.LoadPredictionsAsync(platform)).Where(p => p.CreatedAt < cutoff).Select(p => p.TrackId).ToHashSet(StringComparer.Ordinal);
            var totals = await log.ReadPlatformTotalsAsync(platform);
            var ranked = SongLabeler.Label(totals.Select(t => new SongCounts(t.TrackId, platform, t.Streams, t.Likes)).ToList(), LabelingOptions.Live);
            foreach (var label in ranked.Kept.Where(l => mature.Contains(l.Song.TrackId)))
            {
                labels[label.Song.TrackId] = [(float)label.StreamsScore, label.LikesScore is { } likes ? (float)likes : float.NaN];
            }
        }

        return labels;
    }

    private sealed record Sample(string TrackId, float[] Features, float[] Labels, string Encoder);

    private async Task<List<Sample>> SnapshotAsync(HeadArchitecture architecture, string? encoder, TrainerOptions options)
    {
        var store = ScoreStore;
        var width = architecture.Layers * architecture.Hidden;
        var samples = new List<Sample>();
        foreach (var (track, label) in (await LabelsAsync(options)).OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            // Only embeddings the serving head may score (its encoder's, when it records one).
            if (await store.LoadAsync(track) is not { Values: { } values } embedding || embedding.Layers * embedding.Hidden != width
                || Apex.Embedding.Encoding.EncoderIdentity.Mismatch(encoder, embedding.Encoder) is not null)
            {
                continue;
            }

            var mean = new float[width];
            for (var s = 0; s < embedding.Segments; s++)
            {
                for (var i = 0; i < width; i++)
                {
                    mean[i] += values[(s * width) + i] / embedding.Segments;
                }
            }

            var labels = architecture.Tasks.Select(t => t.Name switch { "streams" => label[0], "likes" => label[1], _ => float.NaN }).ToArray();
            samples.Add(new Sample(track, mean, labels, embedding.Encoder));
        }

        return samples;
    }

    /// <summary>About 15 % of tracks, chosen by a stable hash of the id, are held out of every run for the comparison.</summary>
    private static bool HeldOut(string trackId) => (uint)StableHash(trackId) % 100 < 15;

    private static int StableHash(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }

    private static ModelMetrics Evaluate(ApexHead head, List<Sample> heldOut, string version)
    {
        if (heldOut.Count < 2)
        {
            return new ModelMetrics(version, null, null, null, heldOut.Count);
        }

        head.eval();
        float[] predictions;
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            var x = tensor(heldOut.SelectMany(s => s.Features).ToArray(), [heldOut.Count, head.Architecture.Layers, head.Architecture.Hidden]);
            predictions = head.call(x).data<float>().ToArray();
        }

        var tasks = head.Architecture.Tasks.Count;
        double? Pearson(string task)
        {
            var t = head.Architecture.Tasks.ToList().FindIndex(x => x.Name == task);
            var rows = Enumerable.Range(0, heldOut.Count).Where(i => t >= 0 && !float.IsNaN(heldOut[i].Labels[t])).ToList();
            if (rows.Count < 3)
            {
                return null;
            }

            var r = RegressionMetrics.Pearson(rows.Select(i => (double)predictions[(i * tasks) + t]).ToArray(), rows.Select(i => (double)heldOut[i].Labels[t]).ToArray());
            return double.IsFinite(r) ? r : 0; // constant predictions carry no ranking
        }

        var streams = Pearson("streams");
        var likes = Pearson("likes");
        double?[] both = [streams, likes];
        var present = both.Where(p => p is not null).Select(p => p!.Value).ToList();
        return new ModelMetrics(version, streams, likes, present.Count == 0 ? null : present.Average(), heldOut.Count);
    }

    private TrainingRunView Run(string id) => state.State.Runs.Single(r => r.Id == id);

    private void Replace(TrainingRunView run)
    {
        var i = state.State.Runs.FindIndex(r => r.Id == run.Id);
        state.State.Runs[i] = run;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Training run {Run} failed")]
    private static partial void LogRunFailed(ILogger logger, string run, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training run {Run}: step {Step} failed on a worker; retrying it on new workers")]
    private static partial void LogStepRetried(ILogger logger, string run, long step, Exception exception);
}
