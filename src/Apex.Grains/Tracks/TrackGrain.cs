namespace Apex.Grains.Tracks;

public sealed class TrackGrain(
    [PersistentState("track", StorageNames.Tracks)] IPersistentState<TrackState> state,
    TimeProvider time) : Grain, ITrackGrain
{
    async Task<TrackView> ITrackGrain.RegisterAsync(TrackRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (state.State.Registration is { } existing)
        {
            return existing == registration
                ? View()!
                : throw new TrackConflictException($"Track '{this.GetPrimaryKeyString()}' is already registered with other details (platform '{existing.Platform}', created {existing.CreatedAt:O}).");
        }

        state.State.Registration = registration;
        state.State.RegisteredAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return View()!;
    }

    Task<TrackView?> ITrackGrain.GetAsync() => Task.FromResult(View());

    private TrackView? View() => state.State.Registration is { } r
        ? new TrackView(this.GetPrimaryKeyString(), r.Platform, r.CreatedAt, r.AudioLocation, r.Instrumental, state.State.Streams, state.State.Likes, state.State.RegisteredAt)
        : null;
}
