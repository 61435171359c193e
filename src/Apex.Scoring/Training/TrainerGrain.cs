using Apex.Core.Popularity;
using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Apex.Grains.Training;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Training;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

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

    /// <summary>Ghost batches per step (as <c>apex train --ghost-batches</c>).</summary>
    public int GhostBatches { get; init; } = 4;

    /// <summary>Rows per ghost batch (as <c>apex train --batch-size</c>): live populations are hundreds of songs, not the paper's thousands.</summary>
    public int BatchSize { get; init; } = 16;

    public int Epochs { get; init; } = 30;

    /// <summary>Epochs without a better validation loss before a run stops (as <c>apex train --patience</c>).</summary>
    public int Patience { get; init; } = 10;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>A candidate is promoted only if its mean Pearson over the popularity tasks beats the serving model's by this much.</summary>
    public double PromotionMargin { get; init; } = 0.01;

    public int RescoreConcurrency { get; init; } = 8;

    public int Seed { get; init; } = 42;

    /// <summary>
    /// The run's settings as <c>apex train --init SERVING --mode song --loss LOSS --epochs --batch-size
    /// --ghost-batches --patience --lr --seed</c> takes them (the serving head's loss, so its learnt task
    /// weights keep their meaning).
    /// </summary>
    public TrainingOptions Training(LossStrategy loss) => new()
    {
        Loss = loss, Mode = InputMode.Song, Epochs = Epochs, BatchSize = BatchSize, GhostBatches = GhostBatches,
        Patience = Patience, LearningRate = LearningRate, Seed = Seed,
    };
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

    /// <summary>The re-scoring with the serving version in progress or last finished (survives a restart of the trainer's silo).</summary>
    [Id(3)]
    public RolloutView? Rollout { get; set; }
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
    private const string DriftReminder = "drift";
    private const string RolloutReminder = "rollout";

    /// <summary>Tracks re-scored between two writes of the rollout's progress (a restart redoes at most these).</summary>
    private const int RolloutChunk = 64;

    private Task? _running;
    private Task? _rollout;
    private IGrainTimer? _keepAlive;
    private string? _driftPublished;

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

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A run whose candidate is serving and whose re-scoring was cut short finishes with its rollout.
        var interrupted = state.State.Runs.Where(r => r.Status == TrainingRunStatus.Running && r.Id != state.State.Rollout?.RunId).ToList();
        foreach (var run in interrupted)
        {
            Replace(run with { Status = TrainingRunStatus.Failed, FinishedAt = DateTimeOffset.UtcNow, Error = "the trainer's silo stopped during the run; start a new one" });
        }

        if (interrupted.Count > 0)
        {
            await state.WriteStateAsync(cancellationToken);
        }

        var interval = Settings.CheckInterval < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : Settings.CheckInterval;
        await this.RegisterOrUpdateReminder(DriftReminder, interval, interval, cancellationToken);
        ResumeRollout();
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == RolloutReminder)
        {
            // It wakes this grain after a restart (activation resumes the rollout) and retries a rollout
            // that failed (its error is recorded); once the rollout is done it goes.
            if (state.State.Rollout is { FinishedAt: null })
            {
                ResumeRollout();
            }
            else if (await this.GetReminder(RolloutReminder) is { } done)
            {
                await this.UnregisterReminder(done);
            }

            return;
        }

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

    async Task<string> ITrainerGrain.PromoteAsync(string version)
    {
        Registry.Serve(version);
        await BeginRolloutAsync(version, runId: null);
        return version;
    }

    async Task<string?> ITrainerGrain.RollbackAsync()
    {
        var version = Registry.Rollback();
        if (version is not null)
        {
            await BeginRolloutAsync(version, runId: null);
        }

        return version;
    }

    Task<RolloutView?> ITrainerGrain.GetRolloutAsync() => Task.FromResult(state.State.Rollout);

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
            ReleaseKeepAlive();
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
        var (rows, encoder) = await SnapshotAsync(architecture, manifest.Encoder, options);
        if (rows.Count < options.MinTrainingTracks)
        {
            throw new InvalidOperationException($"{rows.Count} mature scored tracks with labels; a run needs {options.MinTrainingTracks}.");
        }

        state.State.LastRunAt = DateTimeOffset.UtcNow;
        state.State.LastLabels = rows.ToDictionary(r => r.TrackId, r => new[] { r.Streams!.Value, r.Likes ?? float.NaN }, StringComparer.Ordinal);
        var info = new Apex.Training.Data.DatasetInfo(architecture.Layers, architecture.Hidden, $"live snapshot of run {id}", encoder);
        using var run = FineTuning.Prepare(rows, info, serving, options.Training(Enum.Parse<LossStrategy>(manifest.Loss, ignoreCase: true)));
        var workers = Math.Max(1, Math.Min(options.Workers, run.Options.GhostBatches));
        Replace(Run(id) with { Workers = workers, Steps = run.Steps, TrainingTracks = run.Train.SongCount });
        var pool = new WorkerPool((attempt, _) => StartWorkersAsync(id, attempt, workers, run), MaxRetries,
            // A worker (or its silo) was lost: the coordinator still holds the last completed step.
            (step, _, ex) => LogStepRetried(logger, id, step, ex));
        var trained = await run.TrainAsync(pool, step => Replace(Run(id) with { StepsDone = step.Step, Retries = pool.Retries }));
        Replace(Run(id) with { EpochsDone = trained.History.Count, BestEpoch = trained.BestEpoch, Retries = pool.Retries });

        var candidateMetrics = run.Evaluate(run.Candidate);
        var candidate = Summary(candidateMetrics, "candidate", run.Test.SongCount);
        var current = Summary(run.Evaluate(serving), manifest.Version, run.Test.SongCount);
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
        await run.SaveAsync(Path.Combine(registry.Folder, version), manifest, version,
            $"cluster: {rows.Count} mature scored tracks (popularity labels), run {id}, fine-tuned from {manifest.Version}", candidateMetrics);
        registry.Serve(version);
        Replace(Run(id) with
        {
            Candidate = candidate with { Version = version }, Serving = current,
            Decision = $"promoted {version}: mean Pearson {candidate.MeanPearson:0.000} against {current.MeanPearson:0.000} for {manifest.Version}",
        });
        await BeginRolloutAsync(version, id);
        await (_rollout ?? Task.CompletedTask);
    }

    /// <summary>Places <paramref name="workers"/> worker grains for an attempt and gives each the whole training set, in parts that fit a message.</summary>
    private async Task<IReadOnlyList<IGradientWorker>> StartWorkersAsync(string id, int attempt, int workers, FineTuning run)
    {
        const int RowsPerMessage = 1024;
        var (train, architecture, options) = (run.Train, run.Architecture, run.Options);
        var keys = (embedders ?? throw new InvalidOperationException("This silo has no embedder directory: training is off here.")).EmbedderKeys();
        if (keys.Count == 0)
        {
            throw new InvalidOperationException("No silo can host training workers: none has gpu=true, and none allows CPU work (Apex:Embedding:AllowCpu).");
        }

        var setup = new WorkerSetup(architecture.Layers, architecture.Hidden, architecture.Tasks.Select(t => t.Name).ToList(), [.. architecture.Trunk],
            architecture.BranchWidth, architecture.TrunkDropout, architecture.BranchDropout, train.SampleCount, options.Seed, options.GhostBatches,
            options.Loss.ToString(), options.Precision.ToString());
        var all = Enumerable.Range(0, train.SampleCount).ToArray();
        var pool = new List<IGradientWorker>();
        for (var k = 0; k < workers; k++)
        {
            var grain = GrainFactory.GetGrain<ITrainingWorkerGrain>($"{keys[k % keys.Count]}|{id}|{attempt}|{k}");
            await grain.BeginAsync(setup);
            foreach (var part in all.Chunk(RowsPerMessage))
            {
                var rows = train.Batch(part);
                await grain.AddRowsAsync(rows.Features, rows.Labels);
            }

            pool.Add(new GrainGradientWorker(grain, train.SampleCount));
        }

        return pool;
    }

    /// <summary>
    /// Records the rollout of <paramref name="version"/> durably (it replaces one in progress), keeps a
    /// reminder that wakes this grain after a restart until it is done, and starts it.
    /// </summary>
    private async Task BeginRolloutAsync(string version, string? runId)
    {
        state.State.Rollout = new RolloutView(version, runId, DateTimeOffset.UtcNow, null, 0, 0, null);
        await state.WriteStateAsync();
        var started = state.State.Rollout.StartedAt;
        await GrainFactory.GetGrain<Apex.Grains.Signals.ISignalFeedGrain>(0).PublishAsync([new Apex.Grains.Signals.SignalEvent(0, Apex.Grains.Signals.SignalEvent.ModelPromoted,
            $"model_promoted:{version}:{started.UtcTicks}", null, null, started, Apex.Grains.Signals.SignalJson.Write(new { Version = version, RunId = runId, StartedAt = started }))]);
        await this.RegisterOrUpdateReminder(RolloutReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        StartRollout();
    }

    /// <summary>The grain stays active while a run or a rollout is in progress, and may go once neither is.</summary>
    private void ReleaseKeepAlive()
    {
        if (_running is { IsCompleted: false } || state.State.Rollout is { FinishedAt: null })
        {
            return;
        }

        _keepAlive?.Dispose();
        _keepAlive = null;
    }

    /// <summary>Starts the recorded rollout again if it is unfinished and no loop runs it.</summary>
    private void ResumeRollout()
    {
        if (state.State.Rollout is { FinishedAt: null } && _rollout is null or { IsCompleted: true })
        {
            StartRollout();
        }
    }

    private void StartRollout()
    {
        // One loop at a time: a loop that sees another version recorded stops, and the next one starts after it.
        var previous = _rollout ?? Task.CompletedTask;
        _rollout = previous.ContinueWith(_ => RolloutAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Current).Unwrap();
        _keepAlive ??= this.RegisterGrainTimer(() => Task.CompletedTask, new GrainTimerCreationOptions(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)) { KeepAlive = true, Interleave = true });
    }

    /// <summary>
    /// Re-scores every scored track with the rollout's version, in track-id order and in chunks; after each
    /// chunk the progress is written, so a restart resumes after the last written chunk (a track re-scored
    /// twice is harmless: a track already at the version does nothing).
    /// </summary>
    private async Task RolloutAsync()
    {
        if (state.State.Rollout is not { FinishedAt: null } rollout)
        {
            return;
        }

        try
        {
            var store = ScoreStore;
            var tracks = new List<string>();
            foreach (var platform in await store.PlatformsAsync())
            {
                tracks.AddRange((await store.LoadPredictionsAsync(platform)).Select(p => p.TrackId));
            }

            tracks.Sort(StringComparer.Ordinal);
            rollout = rollout with { Total = tracks.Count, Done = Math.Min(rollout.Done, tracks.Count), Error = null };
            await SaveRolloutAsync(rollout);
            for (var start = rollout.Done; start < tracks.Count; start += RolloutChunk)
            {
                if (state.State.Rollout?.StartedAt != rollout.StartedAt)
                {
                    return; // a newer rollout replaced this one
                }

                using var gate = new SemaphoreSlim(Settings.RescoreConcurrency);
                await Task.WhenAll(tracks.Skip(start).Take(RolloutChunk).Select(async track =>
                {
                    await gate.WaitAsync();
                    try
                    {
                        // Every silo's model watcher picks the new version up within seconds; until then, wait.
                        for (var attempt = 0; attempt < 60 && !await GrainFactory.GetGrain<ITrackGrain>(track).RescoreAsync(rollout.Version); attempt++)
                        {
                            await Task.Delay(TimeSpan.FromSeconds(1));
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
                rollout = rollout with { Done = Math.Min(tracks.Count, start + RolloutChunk) };
                await SaveRolloutAsync(rollout);
            }

            await SaveRolloutAsync(rollout with { FinishedAt = DateTimeOffset.UtcNow });
            if (rollout.RunId is { } id)
            {
                Replace(Run(id) with { Status = TrainingRunStatus.Promoted, FinishedAt = DateTimeOffset.UtcNow });
                await state.WriteStateAsync();
            }

            if (await this.GetReminder(RolloutReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            ReleaseKeepAlive();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Recorded and left unfinished: the reminder (or the next activation) tries again.
            LogRolloutFailed(logger, rollout.Version, ex);
            if (state.State.Rollout?.StartedAt == rollout.StartedAt)
            {
                state.State.Rollout = state.State.Rollout with { Error = $"{ex.GetType().Name}: {ex.Message}" };
                await state.WriteStateAsync();
            }
        }
    }

    private async Task SaveRolloutAsync(RolloutView rollout)
    {
        if (state.State.Rollout?.StartedAt != rollout.StartedAt)
        {
            return;
        }

        state.State.Rollout = rollout;
        RescoreProgress = (rollout.Version, rollout.Total, rollout.Done);
        if (rollout.RunId is { } id && state.State.Runs.Any(r => r.Id == id))
        {
            Replace(Run(id) with { RescoreTotal = rollout.Total, Rescored = rollout.Done });
        }

        await state.WriteStateAsync();
    }

    private async Task<DriftView> DriftAsync()
    {
        // No drift before a model serves: a run fine-tunes the serving model.
        var serving = models?.ServingDirectory();
        var labels = serving is not null && File.Exists(Path.Combine(serving, HeadCheckpoint.ManifestFile)) ? await LabelsAsync(Settings) : [];
        var known = labels.Where(l => state.State.LastLabels.ContainsKey(l.Key)).ToList();
        var moved = known.Count(l => Math.Abs(Nan0(l.Value.Streams) - Nan0(state.State.LastLabels[l.Key][0])) > Settings.MovedPoints
            || Math.Abs(Nan0(l.Value.Likes) - Nan0(state.State.LastLabels[l.Key][1])) > Settings.MovedPoints);
        var newMature = labels.Count - known.Count;
        var movedShare = known.Count == 0 ? 0 : moved / (double)known.Count;
        var due = labels.Count >= Settings.MinTrainingTracks && (newMature >= Settings.MinNewMatureTracks || movedShare >= Settings.MovedShare);
        var view = new DriftView(labels.Count, newMature, movedShare, due, state.State.LastRunAt);
        if (due && serving is not null)
        {
            await PublishDriftAsync(Path.GetFileName(serving), view);
        }

        return view;
    }

    /// <summary>
    /// Records a calibration_drift signal once per serving model and last run: the labels moved enough
    /// since then that the model is due for a run. The drift view is answered even if the feed is out of reach.
    /// </summary>
    private async Task PublishDriftAsync(string servingVersion, DriftView drift)
    {
        var key = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"calibration_drift:{servingVersion}:{drift.LastRunAt?.UtcTicks ?? 0}");
        if (key == _driftPublished)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow;
        try
        {
            await GrainFactory.GetGrain<Apex.Grains.Signals.ISignalFeedGrain>(0).PublishAsync([new Apex.Grains.Signals.SignalEvent(0, Apex.Grains.Signals.SignalEvent.CalibrationDrift, key, null, null, now,
                Apex.Grains.Signals.SignalJson.Write(new
                {
                    ModelVersion = servingVersion, drift.MatureScoredTracks, drift.NewMatureSinceLastRun, drift.MovedShare, drift.LastRunAt,
                    Thresholds = new { Settings.MinNewMatureTracks, Settings.MovedShare, Settings.MovedPoints },
                }))]);
            _driftPublished = key;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogDriftNotPublished(logger, ex.GetType().Name, ex.Message);
        }
    }

    private static float Nan0(float v) => float.IsNaN(v) ? 0 : v;

    /// <summary>
    /// Each mature scored track's live popularity labels, from the project's one labeler with the live
    /// reading (<see cref="LabelingOptions.Live"/>): tracks without streams are not labels, and no likes
    /// is NaN (no likes label).
    /// </summary>
    private async Task<Dictionary<string, LiveLabel>> LabelsAsync(TrainerOptions options)
    {
        var store = ScoreStore;
        var cutoff = DateTimeOffset.UtcNow - TimeSpan.FromDays(options.MaturityDays);
        var labels = new Dictionary<string, LiveLabel>(StringComparer.Ordinal);
        foreach (var platform in await store.PlatformsAsync())
        {
            var mature = (await store.LoadPredictionsAsync(platform)).Where(p => p.CreatedAt < cutoff).ToDictionary(p => p.TrackId, p => p.CreatedAt, StringComparer.Ordinal);
            var totals = await log.ReadPlatformTotalsAsync(platform);
            var ranked = SongLabeler.Label(totals.Select(t => new SongCounts(t.TrackId, platform, t.Streams, t.Likes)).ToList(), LabelingOptions.Live);
            foreach (var label in ranked.Kept)
            {
                if (mature.TryGetValue(label.Song.TrackId, out var createdAt))
                {
                    labels[label.Song.TrackId] = new LiveLabel(platform, createdAt, (float)label.StreamsScore, label.LikesScore is { } likes ? (float)likes : float.NaN);
                }
            }
        }

        return labels;
    }

    /// <summary>A mature track's live labels (no likes label: NaN).</summary>
    private sealed record LiveLabel(string Platform, DateTimeOffset CreatedAt, float Streams, float Likes);

    /// <summary>
    /// The labelled mature tracks as dataset rows, in track-id order: the labeler's live labels and the
    /// song mean of the track's stored segment embeddings (only embeddings the serving head may score: its
    /// encoder's, when it records one). Also answers the encoder the rows come from: the serving head's,
    /// or the one encoder of all the rows (null when they come from several or record none).
    /// </summary>
    private async Task<(List<Apex.Training.Data.SongRow> Rows, string? Encoder)> SnapshotAsync(HeadArchitecture architecture, string? encoder, TrainerOptions options)
    {
        var store = ScoreStore;
        var info = new Apex.Training.Data.DatasetInfo(architecture.Layers, architecture.Hidden, "live snapshot", encoder);
        var rows = new List<Apex.Training.Data.SongRow>();
        var encoders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (track, label) in (await LabelsAsync(options)).OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            if (await store.LoadAsync(track) is not { Values: { } values } embedding || embedding.Layers * embedding.Hidden != info.SegmentWidth
                || Apex.Core.Encoders.EncoderIdentity.Mismatch(encoder, embedding.Encoder) is not null)
            {
                continue;
            }

            encoders.Add(embedding.Encoder);
            rows.Add(Apex.Training.Data.TrainingSet.ToSongMean(new Apex.Training.Data.SongRow
            {
                TrackId = track, Platform = label.Platform, CreatedAt = label.CreatedAt.UtcDateTime, Segments = embedding.Segments, Embedding = values,
                Streams = label.Streams, Likes = float.IsNaN(label.Likes) ? null : label.Likes,
            }, info));
        }

        return (rows, encoder ?? (encoders.Count == 1 ? encoders.Single() : null));
    }

    /// <summary>The run view's summary of per-task metrics: Pearson of each popularity task and their mean.</summary>
    private static ModelMetrics Summary(IReadOnlyList<TaskMetrics> metrics, string version, int testTracks)
    {
        double? Pearson(string task) => metrics.FirstOrDefault(m => m.Task == task)?.Report.Pearson is { } r ? (double.IsFinite(r) ? r : 0) : null; // constant predictions carry no ranking
        var streams = Pearson("streams");
        var likes = Pearson("likes");
        double?[] both = [streams, likes];
        var present = both.Where(p => p is not null).Select(p => p!.Value).ToList();
        return new ModelMetrics(version, streams, likes, present.Count == 0 ? null : present.Average(), testTracks);
    }

    private TrainingRunView Run(string id) => state.State.Runs.Single(r => r.Id == id);

    private void Replace(TrainingRunView run)
    {
        var i = state.State.Runs.FindIndex(r => r.Id == run.Id);
        state.State.Runs[i] = run;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The calibration drift could not be recorded in the signal feed this time ({Error}: {Reason}); again at the next check")]
    private static partial void LogDriftNotPublished(ILogger logger, string error, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training run {Run} failed")]
    private static partial void LogRunFailed(ILogger logger, string run, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-scoring with {Version} failed; it resumes with the next reminder")]
    private static partial void LogRolloutFailed(ILogger logger, string version, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training run {Run}: step {Step} failed on a worker; retrying it on new workers")]
    private static partial void LogStepRetried(ILogger logger, string run, long step, Exception exception);
}
