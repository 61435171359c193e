namespace Apex.Grains.Arena;

/// <summary>
/// The tracks arena voters are shown (key 0): every registered track that names its system, with its
/// prompt; the next pair to judge is drawn from them (<c>Apex.Arena.PairSampler</c>).
/// </summary>
[Alias("Apex.Grains.Arena.IArenaPoolGrain")]
public interface IArenaPoolGrain : IGrainWithIntegerKey
{
    /// <summary>Adds (or confirms) a track; durable when it returns.</summary>
    [Alias("AddAsync")]
    Task AddAsync(ArenaEntry entry);

    [Alias("GetAsync")]
    Task<ArenaEntry?> GetAsync(string trackId);

    /// <summary>The next pair to judge: same prompt where tracks share one, systems the board knows least about more often; null with fewer than two systems.</summary>
    [Alias("NextPairAsync")]
    Task<ArenaPairView?> NextPairAsync();
}

[GenerateSerializer]
[Alias("Apex.Grains.Arena.ArenaEntry")]
public sealed record ArenaEntry(
    [property: Id(0)] string TrackId,
    [property: Id(1)] string System,
    [property: Id(2)] string? Prompt,
    [property: Id(3)] bool? Instrumental);

[GenerateSerializer]
[Alias("Apex.Grains.Arena.ArenaPairView")]
public sealed record ArenaPairView(
    [property: Id(0)] ArenaEntry A,
    [property: Id(1)] ArenaEntry B,
    [property: Id(2)] string? Prompt);
