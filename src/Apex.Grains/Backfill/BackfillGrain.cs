using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Apex.Grains.Backfill;

/// <summary>
/// Admits catalogued tracks to scoring in the order they were registered, a few at a time: at most
/// <see cref="BackfillOptions.MaxInFlight"/> admitted and unscored, and only
/// <see cref="BackfillOptions.InFlightWhileLive"/> while tracks registered live wait on any silo (each
/// silo reports its own, <see cref="LiveQueueReporter"/>), so a
/// catalogue of any size never stands in front of a new release and still always progresses. Queued
/// catalogue tracks are rows in the ingest log (<see cref="IIngestLog.ReadBackfillAsync"/>), not grain
/// activations; only admitted ones are active. The position is durable and written after the tracks it
/// covers are admitted (each admission is durable in its track's state), so a crash admits a track
/// twice at worst, which is a no-op. A reminder restarts it after a restart until the catalogue is done.
/// </summary>
public sealed partial class BackfillGrain(
    [PersistentState("backfill", StorageNames.Backfill)] IPersistentState<BackfillState> state,
    IIngestLog log,
    TimeProvider time,
    ILogger<BackfillGrain> logger,
    IOptions<BackfillOptions>? options = null,
    BackfillMetrics? metrics = null) : Grain, IBackfillGrain, IRemindable
{
    private const string Reminder = "backfill";

    /// <summary>How often a draining backfill re-counts its queue for the metrics and readiness.</summary>
    private static readonly TimeSpan ViewEvery = TimeSpan.FromSeconds(10);

    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);

    // Each silo's last report of its live queue; a silo that stops reporting (gone, or its queue empty
    // and the last report lost) stops counting once its report is stale.
    private readonly Dictionary<string, (int Queued, DateTimeOffset? OldestSince, DateTimeOffset At)> _live = new(StringComparer.Ordinal);
    private IGrainTimer? _timer;
    private DateTimeOffset _viewed;

    // Until every silo had an interval to report its live queue, no report does not mean no live tracks.
    private DateTimeOffset _listeningSince;

    private BackfillOptions Settings => options?.Value ?? new BackfillOptions();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _listeningSince = time.GetUtcNow();
        if (!state.State.Paused)
        {
            StartTimer();
        }

        return Task.CompletedTask;
    }

    async Task IBackfillGrain.WakeAsync()
    {
        if (!state.State.Paused)
        {
            await this.RegisterOrUpdateReminder(Reminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            StartTimer();
        }
    }

    async Task<BackfillView> IBackfillGrain.GetAsync() => await ViewAsync();

    async Task<BackfillView> IBackfillGrain.PauseAsync()
    {
        state.State.Paused = true;
        await state.WriteStateAsync();
        StopTimer();
        LogPaused(logger, state.State.Cursor);
        return await ViewAsync();
    }

    async Task<BackfillView> IBackfillGrain.ResumeAsync()
    {
        state.State.Paused = false;
        await state.WriteStateAsync();
        await this.RegisterOrUpdateReminder(Reminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        StartTimer();
        LogResumed(logger, state.State.Cursor);
        return await ViewAsync();
    }

    Task IBackfillGrain.ReportLiveAsync(string silo, int queued, DateTimeOffset? oldestSince)
    {
        if (queued > 0)
        {
            _live[silo] = (queued, oldestSince, time.GetUtcNow());
        }
        else
        {
            _live.Remove(silo);
        }

        return Task.CompletedTask;
    }

    /// <summary>Live tracks queued across the cluster and since when the longest-waiting one has waited, by the silos' fresh reports.</summary>
    private (int Queued, DateTimeOffset? OldestSince) Live()
    {
        var fresh = time.GetUtcNow() - Settings.LiveReportLifetime;
        foreach (var stale in _live.Where(r => r.Value.At < fresh).Select(r => r.Key).ToList())
        {
            _live.Remove(stale);
        }

        return (_live.Values.Sum(r => r.Queued), _live.Values.Min(r => r.OldestSince));
    }

    Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!state.State.Paused)
        {
            StartTimer();
        }

        return Task.CompletedTask;
    }

    private void StartTimer() =>
        _timer ??= this.RegisterGrainTimer(_ => AdmitAsync(), new GrainTimerCreationOptions(TimeSpan.Zero, Settings.Interval) { KeepAlive = true });

    private void StopTimer()
    {
        _timer?.Dispose();
        _timer = null;
    }

    private async Task AdmitAsync()
    {
        // Admitted tracks leave the count once their scoring ends (scored or failed).
        foreach (var id in _inFlight.ToList())
        {
            if ((await GrainFactory.GetGrain<ITrackGrain>(id).GetAsync())?.Scoring?.Status != ScoringStatus.Queued)
            {
                _inFlight.Remove(id);
            }
        }

        var heard = time.GetUtcNow() - _listeningSince >= Settings.Interval * 2;
        var cap = Live().Queued > 0 || !heard ? Math.Min(Settings.InFlightWhileLive, Settings.MaxInFlight) : Settings.MaxInFlight;
        var next = _inFlight.Count < cap ? await log.ReadBackfillAsync(state.State.Cursor, cap - _inFlight.Count) : [];
        if (next.Count > 0)
        {
            await Task.WhenAll(next.Select(item => GrainFactory.GetGrain<ITrackGrain>(item.TrackId).AdmitAsync()));
            _inFlight.UnionWith(next.Select(item => item.TrackId));
            state.State.Cursor = next[^1].Seq;
            state.State.Admitted += next.Count;
            await state.WriteStateAsync();
            metrics?.Admitted(next.Count);
        }

        // Nothing in flight means the read above ran, and it found nothing after the cursor: done.
        if (next.Count == 0 && _inFlight.Count == 0)
        {
            // The catalogue is done: nothing wakes this grain until the next batch does.
            StopTimer();
            await ViewAsync();
            if (await this.GetReminder(Reminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        else if (next.Count > 0 || time.GetUtcNow() - _viewed >= ViewEvery)
        {
            // The depth is a count over the catalogue's queued rows: not every tick while the queue only drains.
            await ViewAsync();
        }
    }

    private async Task<BackfillView> ViewAsync()
    {
        _viewed = time.GetUtcNow();
        var depth = await log.CountBackfillAsync(state.State.Cursor);
        var (live, oldestLive) = Live();
        var view = new BackfillView(state.State.Paused, depth.Queued, depth.OldestRegisteredAt, _inFlight.Count, state.State.Admitted, Settings.MaxInFlight, live, oldestLive);
        metrics?.Observe(view);
        return view;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Catalogue backfill paused at position {Cursor}")]
    private static partial void LogPaused(ILogger logger, long cursor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Catalogue backfill resumed at position {Cursor}")]
    private static partial void LogResumed(ILogger logger, long cursor);
}
