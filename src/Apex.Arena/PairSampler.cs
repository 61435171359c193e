namespace Apex.Arena;

/// <summary>A track that can appear in an arena battle: its system, its prompt (if known) and whether it is instrumental.</summary>
public sealed record ArenaTrack(string TrackId, string System, string? Prompt, bool? Instrumental);

/// <summary>What the board knows of a system: its battles so far and the width of its 95 % interval (rating points; null before a fit).</summary>
public sealed record SystemStanding(int Battles, double? IntervalWidth);

/// <summary>Two tracks of two systems, shown as A and B, and the prompt they share (null when they share none).</summary>
public sealed record ArenaPair(ArenaTrack A, ArenaTrack B, string? Prompt);

/// <summary>
/// Picks the next pair to judge the way public arenas do: two tracks of one prompt when tracks share
/// prompts, and systems the board knows least about more often (few battles, a wide interval), so that
/// every system's rating firms up; two tracks of one system never meet. Written here because no library
/// samples arena pairs; the weight is the one active-sampling arenas use in spirit: more weight where a
/// vote teaches the board more.
/// </summary>
public static class PairSampler
{
    /// <summary>How much a system is worth sampling: 1/√(1 + battles), plus its interval width over 400 points (a fresh system: 1 + 1).</summary>
    public static double Weight(SystemStanding? standing) =>
        standing is null ? 2.0 : (1.0 / Math.Sqrt(1 + standing.Battles)) + ((standing.IntervalWidth ?? 400) / 400.0);

    /// <summary>The next pair, or null when fewer than two systems have tracks.</summary>
    public static ArenaPair? Next(IReadOnlyCollection<ArenaTrack> tracks, IReadOnlyDictionary<string, SystemStanding> standings, Random random)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        ArgumentNullException.ThrowIfNull(standings);
        ArgumentNullException.ThrowIfNull(random);
        double W(string system) => Weight(standings.GetValueOrDefault(system));

        // Prompts shared by at least two systems, each weighted by its two most worth-sampling systems.
        var groups = tracks.Where(t => t.Prompt is not null)
            .GroupBy(t => t.Prompt!, StringComparer.Ordinal)
            .Select(g => (Prompt: g.Key, Tracks: g.ToList(), Systems: g.Select(t => t.System).Distinct(StringComparer.Ordinal).ToList()))
            .Where(g => g.Systems.Count >= 2)
            .OrderBy(g => g.Prompt, StringComparer.Ordinal)
            .ToList();
        string? prompt = null;
        var pool = tracks.ToList();
        if (groups.Count > 0)
        {
            var group = Pick(groups, g => g.Systems.Select(W).OrderDescending().Take(2).Sum(), random);
            (prompt, pool) = (group.Prompt, group.Tracks);
        }

        var systems = pool.Select(t => t.System).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (systems.Count < 2)
        {
            return null;
        }

        var first = Pick(systems, W, random);
        var second = Pick(systems.Where(s => s != first).ToList(), W, random);
        var a = Pick(pool.Where(t => t.System == first).OrderBy(t => t.TrackId, StringComparer.Ordinal).ToList(), _ => 1, random);
        var b = Pick(pool.Where(t => t.System == second).OrderBy(t => t.TrackId, StringComparer.Ordinal).ToList(), _ => 1, random);
        // Which side a system is shown on is random, so position says nothing about it.
        return random.Next(2) == 0 ? new ArenaPair(a, b, prompt) : new ArenaPair(b, a, prompt);
    }

    private static T Pick<T>(IReadOnlyList<T> items, Func<T, double> weight, Random random)
    {
        var weights = items.Select(weight).ToArray();
        var target = random.NextDouble() * weights.Sum();
        for (var i = 0; i < items.Count; i++)
        {
            target -= weights[i];
            if (target < 0)
            {
                return items[i];
            }
        }

        return items[^1];
    }
}
