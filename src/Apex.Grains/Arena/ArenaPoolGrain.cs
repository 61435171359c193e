using Apex.Arena;

namespace Apex.Grains.Arena;

[GenerateSerializer]
[Alias("Apex.Grains.Arena.ArenaPoolState")]
public sealed class ArenaPoolState
{
    [Id(0)]
    public Dictionary<string, ArenaEntry> Entries { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The arena's tracks, in grain state; pairs are drawn with the overall board's standings. The whole
/// state is written on each new track: fine for the thousands of tracks a voting arena shows, not for
/// a whole catalogue (the catalogue-scale work moves it to rows).
/// </summary>
public sealed class ArenaPoolGrain([PersistentState("arena-pool", StorageNames.Arena)] IPersistentState<ArenaPoolState> state) : Grain, IArenaPoolGrain
{
    async Task IArenaPoolGrain.AddAsync(ArenaEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (state.State.Entries.TryGetValue(entry.TrackId, out var known) && known == entry)
        {
            return;
        }

        state.State.Entries[entry.TrackId] = entry;
        await state.WriteStateAsync();
    }

    Task<ArenaEntry?> IArenaPoolGrain.GetAsync(string trackId) => Task.FromResult(state.State.Entries.GetValueOrDefault(trackId));

    async Task<ArenaPairView?> IArenaPoolGrain.NextPairAsync()
    {
        var board = await GrainFactory.GetGrain<ILeaderboardGrain>("overall").GetAsync();
        var standings = board.Systems.ToDictionary(r => r.System, r => new SystemStanding(r.Battles, r.CiHigh - r.CiLow), StringComparer.Ordinal);
        var tracks = state.State.Entries.Values.Select(e => new ArenaTrack(e.TrackId, e.System, e.Prompt, e.Instrumental)).ToList();
        return PairSampler.Next(tracks, standings, Random.Shared) is { } pair
            ? new ArenaPairView(state.State.Entries[pair.A.TrackId], state.State.Entries[pair.B.TrackId], pair.Prompt)
            : null;
    }
}
