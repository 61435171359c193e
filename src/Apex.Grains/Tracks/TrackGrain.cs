using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Apex.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace Apex.Grains.Tracks;

/// <summary>
/// A track: its registration and scores (grain state) and its live counts. The counts are never written
/// as grain state: the ingest log holds them, updated in the same transaction as the events, and a read
/// takes them from there (one indexed row), so they are exact without any hand-off from the ingest path.
/// Scoring: a registered track is queued durably (its state says so, and a reminder wakes it after a
/// restart); while queued, a timer asks an embedder, stores the embedding once and runs the silo's
/// model host. An embedder that is busy or gone (its silo crashed) leaves the track queued for the next
/// try; audio that cannot be decoded fails the track with the reason. Silos without the scoring
/// services (some tests) leave tracks queued, untouched, and say why when asked to score now.
/// A track that waits for something absent (an embedder in the cluster, the database, a serving model
/// that can score it) does no I/O while it waits: each tick reads that from memory (the membership
/// snapshot, <see cref="StoreOutage"/>, the model host) and tries again once it is there.
/// </summary>
public sealed partial class TrackGrain(
    [PersistentState("track", StorageNames.Tracks)] IPersistentState<TrackState> state,
    IIngestLog log,
    TimeProvider time,
    ILogger<TrackGrain> logger,
    IModelHost? models = null,
    IScoreStore? store = null,
    EmbedderDirectory? embedders = null,
    ScoringWaiters? waiters = null,
    StoreOutage? outage = null,
    Populations.PopulationHandoff? populations = null) : Grain, ITrackGrain, IRemindable
{
    private const string ScoringReminder = "scoring";

    /// <summary>Between two tries while queued; the reminder is the backstop after a restart.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    private IGrainTimer? _scoringTimer;
    private bool _scoring;

    // What this activation learned on its last try, so that waiting costs no I/O: whether an embedding
    // is stored (only this grain stores it; null until looked up), and the serving version that could
    // not score it (null when none served).
    private bool? _embedded;

    // The reason as last written: the one in memory may say more (a try in flight), and a retry that
    // ends with the stored reason writes nothing.
    private string? _storedReason;
    private bool _unscorable;
    private string? _unscorableVersion;

    private string Id => this.GetPrimaryKeyString();

    /// <summary>The reason a track registered in bulk shows until the backfill admits it.</summary>
    public const string BackfillReason = "backfill: queued behind tracks registered live";

    // Registered in bulk and not yet admitted by the backfill: the state above came from the catalogue
    // and is not written.
    private bool _backfill;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Registration is null && await log.ReadCatalogueAsync(Id, cancellationToken) is { } catalogued)
        {
            // Registered in bulk: the catalogue holds the registration, and this activation shows it. The
            // state is written, and scoring starts, only when the backfill admits the track (ScoreNowAsync).
            state.State.Registration = catalogued.Registration;
            state.State.RegisteredAt = catalogued.RegisteredAt;
            state.State.Scoring = ScoringStatus.Queued;
            state.State.ScoringError = BackfillReason;
            _backfill = true;
            return;
        }

        _storedReason = state.State.ScoringError;
        if (state.State.Registration is not null && state.State.Scoring == ScoringStatus.Queued && ScoringEnabled)
        {
            StartScoringTimer(TimeSpan.Zero);
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        waiters?.Done(Id);
        return Task.CompletedTask;
    }

    async Task<TrackRegistered> ITrackGrain.RegisterAsync(TrackRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (state.State.Registration is { } existing)
        {
            if (existing != registration)
            {
                throw new TrackConflictException($"Track '{Id}' is already registered with other details (platform '{existing.Platform}', created {existing.CreatedAt:O}, system '{existing.System}').");
            }

            // A repeat completes what a failed first call may have left out.
            await JoinPopulationAsync(registration);
            await JoinArenaAsync(registration);
            return new TrackRegistered(View(await log.ReadTotalsAsync(Id))!, Created: false);
        }

        // The log learns the track first: a crash between the two steps leaves a track that events can
        // reach and a retried registration completes.
        await log.RegisterTrackAsync(Id, registration.Platform, registration.CreatedAt);
        state.State.Registration = registration;
        state.State.RegisteredAt = time.GetUtcNow();
        state.State.Scoring = ScoringStatus.Queued;
        await WriteAsync();
        if (ScoringEnabled)
        {
            await this.RegisterOrUpdateReminder(ScoringReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            StartScoringTimer(TimeSpan.Zero);
        }

        await JoinPopulationAsync(registration);
        await JoinArenaAsync(registration);
        return new TrackRegistered(View()!, Created: true);
    }

    /// <summary>The platform's listings learn the track before its first event (totals only move forward, so a repeat is harmless).</summary>
    private Task JoinPopulationAsync(TrackRegistration registration) =>
        populations?.HandAsync([new TrackTotals(Id, registration.Platform, 0, 0, 0, registration.CreatedAt)]) ?? Task.CompletedTask;

    /// <summary>A track that names its system is one the arena can show voters.</summary>
    private Task JoinArenaAsync(TrackRegistration registration) =>
        registration.System is { } system
            ? GrainFactory.GetGrain<Apex.Grains.Arena.IArenaPoolGrain>(0).AddAsync(new Apex.Grains.Arena.ArenaEntry(Id, system, registration.Prompt, registration.Instrumental))
            : Task.CompletedTask;

    async Task<TrackView?> ITrackGrain.GetAsync() =>
        state.State.Registration is null ? null : View(await log.ReadTotalsAsync(Id));

    async Task<TrackScoring?> ITrackGrain.ScoreNowAsync()
    {
        if (state.State.Registration is null)
        {
            return null;
        }

        await AdmitAsync(startTimer: false);

        // Asked for: one try now, whatever the last one learned.
        await ScoreOnceAsync(force: true);
        return Scoring();
    }

    async Task<bool> ITrackGrain.AdmitAsync()
    {
        if (state.State.Registration is null)
        {
            return false;
        }

        await AdmitAsync(startTimer: true);
        return true;
    }

    /// <summary>A track from the catalogue becomes a track like any other, queued durably and retried until scored.</summary>
    private async Task AdmitAsync(bool startTimer)
    {
        if (!_backfill || state.State.Registration is not { } registration)
        {
            return;
        }

        _backfill = false;
        state.State.ScoringError = null;
        state.State.Backfill = true;
        await WriteAsync();
        if (ScoringEnabled)
        {
            await this.RegisterOrUpdateReminder(ScoringReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            if (startTimer)
            {
                StartScoringTimer(TimeSpan.Zero);
            }
        }

        await JoinArenaAsync(registration);
    }

    async Task<bool> ITrackGrain.RescoreAsync(string version)
    {
        if (state.State.Registration is not { } registration || state.State.Scoring != ScoringStatus.Scored || state.State.Scores?.ModelVersion == version)
        {
            return true; // nothing to re-score (unscored tracks are scored with whatever serves when their turn comes)
        }

        if (models?.Serving?.Version != version || store is null)
        {
            return false;
        }

        if (await store.LoadAsync(Id) is not { } embedding)
        {
            return true;
        }

        await SaveScoresAsync(registration, store, models.Predict(embedding, ScoreStore.Reference(Id), time.GetUtcNow()));
        return true;
    }

    Task ITrackGrain.WakeAsync()
    {
        if (state.State.Registration is not null && state.State.Scoring == ScoringStatus.Queued && ScoringEnabled && !_backfill)
        {
            StartScoringTimer(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Scoring != ScoringStatus.Queued)
        {
            await StopScoringAsync();
            return;
        }

        StartScoringTimer(TimeSpan.Zero);
    }

    private bool ScoringEnabled => models is not null && store is not null && embedders is not null;

    private void StartScoringTimer(TimeSpan dueTime)
    {
        _scoringTimer ??= this.RegisterGrainTimer(_ => ScoreOnceAsync(force: false), new GrainTimerCreationOptions(dueTime, RetryInterval) { Interleave = true, KeepAlive = true });
    }

    private async Task StopScoringAsync()
    {
        waiters?.Done(Id);
        _scoringTimer?.Dispose();
        _scoringTimer = null;
        if (ScoringEnabled && await this.GetReminder(ScoringReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task ScoreOnceAsync(bool force)
    {
        if (_scoring || state.State.Registration is not { } registration || state.State.Scoring != ScoringStatus.Queued)
        {
            return;
        }

        if (!force && Waiting() is { } absent)
        {
            waiters?.Wait(Id, absent, state.State.Backfill);
            return;
        }

        _scoring = true;
        waiters?.Wait(Id, ScoringWait.InFlight, state.State.Backfill);
        ScoringWait waitingFor;
        try
        {
            waitingFor = await TryScoreAsync(registration);
        }
        catch (Exception ex) when (StoreFailure.IsUnavailable(ex))
        {
            // The database (or the disk) is out of reach: the silo's outage gate stops every queued track
            // until it answers again, and logs it once. Shown by GET /tracks/{id}; not written (the store
            // is what failed).
            outage?.Report(ex);
            LogStoreFailed(logger, Id, ex.Message);
            if (state.State.Scoring == ScoringStatus.Queued)
            {
                state.State.ScoringError = $"waiting for the database: {ex.GetType().Name}: {ex.Message}";
            }

            waitingFor = ScoringWait.Database;
        }
        finally
        {
            _scoring = false;
        }

        if (state.State.Scoring != ScoringStatus.Queued)
        {
            await StopScoringAsync();
            return;
        }

        waiters?.Wait(Id, waitingFor, state.State.Backfill);
    }

    /// <summary>What this track still waits for, read from memory only; null when a try may succeed now.</summary>
    private ScoringWait? Waiting()
    {
        if (waiters?.Draining == true)
        {
            return ScoringWait.Retry;
        }

        if (outage?.IsDown == true)
        {
            return ScoringWait.Database;
        }

        if (_embedded == true)
        {
            return _unscorable && models?.Serving?.Version == _unscorableVersion ? ScoringWait.Model : null;
        }

        return _embedded == false && embedders?.EmbedderKeys().Count == 0 ? ScoringWait.Embedder : null;
    }

    /// <summary>One try; answers what the track waits for when it stays queued.</summary>
    private async Task<ScoringWait> TryScoreAsync(TrackRegistration registration)
    {
        if (models is null || store is null || embedders is null)
        {
            await QueueAsync("this silo has no model host or embedding store: scoring is off here");
            return ScoringWait.Retry;
        }

        // An embedding stored by an earlier attempt (the model could not score it then) is not made again.
        var outcome = _embedded == false ? null : await store.LoadAsync(Id);
        _embedded = outcome is not null;
        var reference = ScoreStore.Reference(Id);
        if (outcome is null)
        {
            (outcome, var waitingFor) = await EmbedAsync(registration, embedders);
            if (outcome is null)
            {
                return waitingFor;
            }

            reference = await store.SaveAsync(Id, outcome);
            _embedded = true;
        }

        var serving = models.Serving;
        if (serving is null)
        {
            (_unscorable, _unscorableVersion) = (true, null);
            await QueueAsync("embedded; no model is serving yet");
            return ScoringWait.Model;
        }

        TrackScores scores;
        try
        {
            scores = models.Predict(outcome, reference, time.GetUtcNow());
        }
        catch (InvalidOperationException ex)
        {
            // The serving model does not fit this encoder (or none serves): stays queued until one does.
            (_unscorable, _unscorableVersion) = (true, serving.Value.Version);
            await QueueAsync($"the serving model cannot score this track: {ex.Message}");
            return ScoringWait.Model;
        }

        await SaveScoresAsync(registration, store, scores);
        return ScoringWait.Retry;
    }

    private async Task SaveScoresAsync(TrackRegistration registration, IScoreStore store, TrackScores scores)
    {
        // The prediction row goes first: once a reader sees the track scored, the trainer's and the
        // population's source (the prediction table) already holds it.
        TrackPrediction? prediction = scores.Of("streams") is { } streams && scores.Of("likes") is { } likes
            ? new TrackPrediction(Id, registration.CreatedAt, scores.ModelVersion, scores.ModelLabel, streams, likes)
            : null;
        if (prediction is not null)
        {
            await store.SavePredictionAsync(registration.Platform, prediction);
        }

        // In the feed before the track is scored for good: a failure leaves it queued, and the retry records it (once per model).
        await GrainFactory.GetGrain<Signals.ISignalFeedGrain>(0).PublishAsync([new Signals.SignalEvent(0, Signals.SignalEvent.Scored, $"scored:{Id}:{scores.ModelVersion}",
            registration.Platform, Id, scores.ScoredAt,
            Signals.SignalJson.Write(new { TrackId = Id, registration.Platform, scores.ModelVersion, scores.ModelLabel, Scores = scores.Tasks.Zip(scores.Song).ToDictionary(p => p.First, p => p.Second) }))]);
        state.State.Scores = scores;
        state.State.Scoring = ScoringStatus.Scored;
        state.State.ScoringError = null;
        await WriteAsync();
        waiters?.Finished(state.State.Backfill, ScoringStatus.Scored);
        if (prediction is not null)
        {
            await GrainFactory.GetGrain<IPopulationGrain>(registration.Platform).RecordPredictionAsync(prediction);
        }
    }

    /// <summary>Asks an embedder; no outcome when the track stays queued (with what it waits for) or failed for good, with the reason in its state.</summary>
    private async Task<(EmbedOutcome? Outcome, ScoringWait WaitingFor)> EmbedAsync(TrackRegistration registration, EmbedderDirectory embedders)
    {
        var keys = embedders.EmbedderKeys();
        if (keys.Count == 0)
        {
            await QueueAsync("no embedder available: no active silo has gpu=true, and none allows CPU embedders (Apex:Embedding:AllowCpu)");
            return (null, ScoringWait.Embedder);
        }

        // Spread tracks over embedders; each retry moves on to the next one.
        var key = keys[(int)((uint)(StringComparer.Ordinal.GetHashCode(Id) + state.State.ScoringAttempts) % (uint)keys.Count)];
        state.State.ScoringAttempts++;
        // Shown while the embedder works (not written: the outcome replaces it).
        state.State.ScoringError = $"embedding on {key}";
        EmbedOutcome outcome;
        try
        {
            outcome = await GrainFactory.GetGrain<IEmbedderGrain>(key).EmbedAsync(new EmbedJob(Id, registration.AudioLocation));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The embedder's silo died or left mid-call, or cannot be placed: the work stays queued.
            LogEmbedderFailed(logger, Id, key, ex);
            await QueueAsync($"embedder {key} failed: {ex.GetType().Name}: {ex.Message}");
            return (null, ScoringWait.Retry);
        }

        switch (outcome.Status)
        {
            case EmbedStatus.Busy:
                await QueueAsync($"embedder {key} was busy");
                return (null, ScoringWait.Retry);
            case EmbedStatus.BadAudio:
                state.State.Scoring = ScoringStatus.Failed;
                state.State.ScoringError = outcome.Error;
                await WriteAsync();
                waiters?.Finished(state.State.Backfill, ScoringStatus.Failed);
                return (null, ScoringWait.Retry);
            default:
                return (outcome, ScoringWait.Retry);
        }
    }

    /// <summary>Stays queued with the reason; the state is written only when the stored reason changes.</summary>
    private async Task QueueAsync(string reason)
    {
        state.State.ScoringError = reason;
        if (_storedReason != reason)
        {
            await WriteAsync();
        }
    }

    private async Task WriteAsync()
    {
        await state.WriteStateAsync();
        _storedReason = state.State.ScoringError;
    }

    private TrackScoring? Scoring() => state.State.Registration is null
        ? null
        : new TrackScoring(state.State.Scoring, state.State.ScoringError, state.State.ScoringAttempts, state.State.Scores);

    private TrackView? View(TrackTotals? totals = null) => state.State.Registration is { } r
        ? new TrackView(Id, r.Platform, r.CreatedAt, r.AudioLocation, r.Instrumental, totals?.Streams ?? 0, totals?.Likes ?? 0, state.State.RegisteredAt, Scoring(), r.System, r.Prompt)
        : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scoring track {TrackId} on embedder {Embedder} failed; it stays queued")]
    private static partial void LogEmbedderFailed(ILogger logger, string trackId, string embedder, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scoring track {TrackId}: a store failed ({Reason}); it waits for the database")]
    private static partial void LogStoreFailed(ILogger logger, string trackId, string reason);
}
