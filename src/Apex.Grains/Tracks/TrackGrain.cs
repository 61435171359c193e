using Apex.Grains.Events;
using Apex.Grains.Ingest;

namespace Apex.Grains.Tracks;

/// <summary>
/// A track: its registration (grain state) and its live counts. The counts are never written as grain
/// state: the ingest log holds them, updated in the same transaction as the events, and a read takes
/// them from there (one indexed row), so they are exact without any hand-off from the ingest path.
/// </summary>
public sealed class TrackGrain(
    [PersistentState("track", StorageNames.Tracks)] IPersistentState<TrackState> state,
    IIngestLog log,
    TimeProvider time) : Grain, ITrackGrain
{

    async Task<TrackRegistered> ITrackGrain.RegisterAsync(TrackRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (state.State.Registration is { } existing)
        {
            return existing == registration
                ? new TrackRegistered(View(await log.ReadTotalsAsync(this.GetPrimaryKeyString()))!, Created: false)
                : throw new TrackConflictException($"Track '{this.GetPrimaryKeyString()}' is already registered with other details (platform '{existing.Platform}', created {existing.CreatedAt:O}).");
        }

        // The log learns the track first: a crash between the two steps leaves a track that events can
        // reach and a retried registration completes.
        await log.RegisterTrackAsync(this.GetPrimaryKeyString(), registration.Platform, registration.CreatedAt);
        state.State.Registration = registration;
        state.State.RegisteredAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return new TrackRegistered(View()!, Created: true);
    }

    async Task<TrackView?> ITrackGrain.GetAsync() =>
        state.State.Registration is null ? null : View(await log.ReadTotalsAsync(this.GetPrimaryKeyString()));

    private TrackView? View(TrackTotals? totals = null) => state.State.Registration is { } r
        ? new TrackView(this.GetPrimaryKeyString(), r.Platform, r.CreatedAt, r.AudioLocation, r.Instrumental, totals?.Streams ?? 0, totals?.Likes ?? 0, state.State.RegisteredAt)
        : null;
}
