using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Microsoft.Extensions.DependencyInjection;
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
/// Tries back off exponentially with jitter. A track waiting for an embedder or for the database does
/// no I/O while it waits: <see cref="ScoringWakeups"/> wakes it when that arrives.
/// </summary>
public sealed partial class TrackGrain(
    [PersistentState("track", StorageNames.Tracks)] IPersistentState<TrackState> state,
    IIngestLog log,
    TimeProvider time,
    IServiceProvider services,
    ILogger<TrackGrain> logger,
    ScoringWaiters? waiters = null) : Grain, ITrackGrain, IRemindable
{
    private const string ScoringReminder = "scoring";

    /// <summary>The first pause between two tries while queued; it doubles up to <see cref="MaxRetryInterval"/>.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    /// <summary>The longest pause while waiting for something that wakes the track when it arrives (an embedder, the database).</summary>
    public static readonly TimeSpan MaxRetryInterval = TimeSpan.FromMinutes(5);

    /// <summary>The longest pause after a transient refusal (a busy embedder), which nothing announces.</summary>
    public static readonly TimeSpan MaxBusyRetryInterval = TimeSpan.FromSeconds(30);

    private IGrainTimer? _scoringTimer;
    private bool _scoring;
    private int _failedTries;
    private DateTimeOffset _nextTry = DateTimeOffset.MinValue;

    // Only this grain stores its embedding: once this activation has seen none stored, it need not look again.
    private bool _noStoredEmbedding;

    private string Id => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Registration is not null && state.State.Scoring == ScoringStatus.Queued && ScoringEnabled)
        {
            StartScoringTimer(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    async Task<TrackRegistered> ITrackGrain.RegisterAsync(TrackRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (state.State.Registration is { } existing)
        {
            return existing == registration
                ? new TrackRegistered(View(await log.ReadTotalsAsync(Id))!, Created: false)
                : throw new TrackConflictException($"Track '{Id}' is already registered with other details (platform '{existing.Platform}', created {existing.CreatedAt:O}).");
        }

        // The log learns the track first: a crash between the two steps leaves a track that events can
        // reach and a retried registration completes.
        await log.RegisterTrackAsync(Id, registration.Platform, registration.CreatedAt);
        state.State.Registration = registration;
        state.State.RegisteredAt = time.GetUtcNow();
        state.State.Scoring = ScoringStatus.Queued;
        await state.WriteStateAsync();
        if (ScoringEnabled)
        {
            await this.RegisterOrUpdateReminder(ScoringReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            StartScoringTimer(TimeSpan.Zero);
        }

        return new TrackRegistered(View()!, Created: true);
    }

    async Task<TrackView?> ITrackGrain.GetAsync() =>
        state.State.Registration is null ? null : View(await log.ReadTotalsAsync(Id));

    async Task<TrackScoring?> ITrackGrain.ScoreNowAsync()
    {
        if (state.State.Registration is null)
        {
            return null;
        }

        await ScoreOnceAsync(CancellationToken.None);
        return Scoring();
    }

    async Task<bool> ITrackGrain.RescoreAsync(string version)
    {
        if (state.State.Registration is not { } registration || state.State.Scoring != ScoringStatus.Scored || state.State.Scores?.ModelVersion == version)
        {
            return true; // nothing to re-score (unscored tracks are scored with whatever serves when their turn comes)
        }

        var models = services.GetService<IModelHost>();
        var store = services.GetService<IScoreStore>();
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
        if (state.State.Registration is not null && state.State.Scoring == ScoringStatus.Queued && ScoringEnabled)
        {
            _failedTries = 0;
            // A little jitter: a silo wakes many tracks at once.
            _nextTry = time.GetUtcNow() + TimeSpan.FromMilliseconds(Random.Shared.Next(500));
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

    private bool ScoringEnabled => services.GetService<IModelHost>() is not null && services.GetService<IScoreStore>() is not null;

    /// <summary>
    /// The timer ticks every <see cref="RetryInterval"/> while the track is queued; a tick before the
    /// backoff's next try returns at once, without I/O. (A fixed tick rather than a re-armed one-shot
    /// timer: nothing can leave a queued track without its next try.)
    /// </summary>
    private void StartScoringTimer(TimeSpan dueTime)
    {
        _scoringTimer ??= this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(dueTime, RetryInterval) { Interleave = true, KeepAlive = true });
    }

    private Task TickAsync(CancellationToken cancellationToken) =>
        time.GetUtcNow() < _nextTry ? Task.CompletedTask : ScoreOnceAsync(cancellationToken);

    /// <summary>Exponential backoff with jitter (0.5× to 1.5×), so that tracks queued together spread out.</summary>
    private TimeSpan NextTry(TimeSpan cap)
    {
        var doubling = RetryInterval.TotalSeconds * Math.Pow(2, Math.Min(_failedTries - 1, 16));
        return TimeSpan.FromSeconds(Math.Min(cap.TotalSeconds, doubling) * (0.5 + Random.Shared.NextDouble()));
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

    private async Task ScoreOnceAsync(CancellationToken cancellationToken)
    {
        if (_scoring || state.State.Registration is not { } registration || state.State.Scoring != ScoringStatus.Queued)
        {
            return;
        }

        _scoring = true;
        ScoringWait waitingFor;
        try
        {
            waitingFor = await TryScoreAsync(registration);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A store failed (the database is down, the disk is full). Quietly: ScoringWakeups reports the
            // outage once per silo and wakes the track when the database answers again.
            LogStoreFailed(logger, Id, ex.Message);
            // Shown by GET /tracks/{id}; written with the next state change, not now (the store may be what failed).
            state.State.ScoringError = $"waiting for a store: {ex.GetType().Name}: {ex.Message}";
            waitingFor = ScoringWait.Database;
        }
        finally
        {
            _scoring = false;
        }

        if (state.State.Scoring != ScoringStatus.Queued)
        {
            _failedTries = 0;
            await StopScoringAsync();
            return;
        }

        _failedTries++;
        waiters?.Wait(Id, waitingFor);
        _nextTry = time.GetUtcNow() + NextTry(waitingFor == ScoringWait.Retry ? MaxBusyRetryInterval : MaxRetryInterval);
        StartScoringTimer(RetryInterval);
    }

    /// <summary>One try; answers what the track waits for when it stays queued.</summary>
    private async Task<ScoringWait> TryScoreAsync(TrackRegistration registration)
    {
        var models = services.GetService<IModelHost>();
        var store = services.GetService<IScoreStore>();
        if (models is null || store is null)
        {
            await QueueAsync("this silo has no model host or embedding store: scoring is off here");
            return ScoringWait.Retry;
        }

        // An embedding stored by an earlier attempt (the model could not score it then) is not made again.
        var outcome = _noStoredEmbedding ? null : await store.LoadAsync(Id);
        _noStoredEmbedding = outcome is null;
        var reference = ScoreStore.Reference(Id);
        if (outcome is null)
        {
            (outcome, var waitingFor) = await EmbedAsync(registration);
            if (outcome is null)
            {
                return waitingFor;
            }

            reference = await store.SaveAsync(Id, outcome);
            _noStoredEmbedding = false;
        }

        if (models.Serving is null)
        {
            await QueueAsync("embedded; no model is serving yet");
            return ScoringWait.Retry;
        }

        TrackScores scores;
        try
        {
            scores = models.Predict(outcome, reference, time.GetUtcNow());
        }
        catch (InvalidOperationException ex)
        {
            // The serving model does not fit this encoder (or none serves): stays queued until one does.
            await QueueAsync($"the serving model cannot score this track: {ex.Message}");
            return ScoringWait.Retry;
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

        state.State.Scores = scores;
        state.State.Scoring = ScoringStatus.Scored;
        state.State.ScoringError = null;
        await state.WriteStateAsync();
        if (prediction is not null)
        {
            await GrainFactory.GetGrain<IPopulationGrain>(registration.Platform).RecordPredictionAsync(prediction);
        }
    }

    /// <summary>Asks an embedder; no outcome when the track stays queued (with what it waits for) or failed for good, with the reason in its state.</summary>
    private async Task<(EmbedOutcome? Outcome, ScoringWait WaitingFor)> EmbedAsync(TrackRegistration registration)
    {
        var keys = services.GetRequiredService<EmbedderDirectory>().EmbedderKeys();
        if (keys.Count == 0)
        {
            await QueueAsync("no embedder available: no active silo has gpu=true, and none allows CPU embedders (Apex:Embedding:AllowCpu)");
            return (null, ScoringWait.Embedder);
        }

        // Spread tracks over embedders; each retry moves on to the next one.
        var key = keys[(int)((uint)(StringComparer.Ordinal.GetHashCode(Id) + state.State.ScoringAttempts) % (uint)keys.Count)];
        state.State.ScoringAttempts++;
        EmbedOutcome outcome;
        try
        {
            outcome = await GrainFactory.GetGrain<IEmbedderGrain>(key).EmbedAsync(new EmbedJob(Id, registration.AudioLocation));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The embedder's silo died or left mid-call, or cannot be placed: the work stays queued.
            LogEmbedderFailed(logger, Id, key, ex.GetType().Name, ex.Message);
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
                await state.WriteStateAsync();
                return (null, ScoringWait.Retry);
            default:
                return (outcome, ScoringWait.Retry);
        }
    }

    /// <summary>Stays queued with the reason; the state is written only when the reason changes.</summary>
    private async Task QueueAsync(string reason)
    {
        if (state.State.ScoringError != reason)
        {
            state.State.ScoringError = reason;
            await state.WriteStateAsync();
        }
    }

    private TrackScoring? Scoring() => state.State.Registration is null
        ? null
        : new TrackScoring(state.State.Scoring, state.State.ScoringError, state.State.ScoringAttempts, state.State.Scores);

    private TrackView? View(TrackTotals? totals = null) => state.State.Registration is { } r
        ? new TrackView(Id, r.Platform, r.CreatedAt, r.AudioLocation, r.Instrumental, totals?.Streams ?? 0, totals?.Likes ?? 0, state.State.RegisteredAt, Scoring())
        : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scoring track {TrackId} on embedder {Embedder} failed ({Error}: {Reason}); it stays queued")]
    private static partial void LogEmbedderFailed(ILogger logger, string trackId, string embedder, string error, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scoring track {TrackId}: a store failed ({Reason}); it waits for the database")]
    private static partial void LogStoreFailed(ILogger logger, string trackId, string reason);
}
