using Apex.Grains.Events;
using Apex.Grains.Ingest;

namespace Apex.Grains.Tracks;

/// <summary>
/// A track: its registration (grain state) and its live counts. The counts are never written as grain
/// state: the ingest log holds them, updated in the same transaction as the events, so an activation
/// loads them and ingest commits push newer totals.
/// </summary>
public sealed class TrackGrain(
    [PersistentState("track", StorageNames.Tracks)] IPersistentState<TrackState> state,
    IIngestLog log,
    TimeProvider time) : Grain, ITrackGrain
{
    private TrackTotals? _totals;

    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        _totals = await log.ReadTotalsAsync(this.GetPrimaryKeyString(), cancellationToken);

    async Task<TrackView> ITrackGrain.RegisterAsync(TrackRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (state.State.Registration is { } existing)
        {
            return existing == registration
                ? View()!
                : throw new TrackConflictException($"Track '{this.GetPrimaryKeyString()}' is already registered with other details (platform '{existing.Platform}', created {existing.CreatedAt:O}).");
        }

        // The log learns the track first: a crash between the two steps leaves a track that events can
        // reach and a retried registration completes.
        await log.RegisterTrackAsync(this.GetPrimaryKeyString(), registration.Platform, registration.CreatedAt);
        state.State.Registration = registration;
        state.State.RegisteredAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return View()!;
    }

    Task ITrackGrain.ApplyTotalsAsync(TrackTotals totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        if (_totals is null || totals.LastSeq > _totals.LastSeq)
        {
            _totals = totals;
        }

        return Task.CompletedTask;
    }

    Task<TrackView?> ITrackGrain.GetAsync() => Task.FromResult(View());

    private TrackView? View() => state.State.Registration is { } r
        ? new TrackView(this.GetPrimaryKeyString(), r.Platform, r.CreatedAt, r.AudioLocation, r.Instrumental, _totals?.Streams ?? 0, _totals?.Likes ?? 0, state.State.RegisteredAt)
        : null;
}
