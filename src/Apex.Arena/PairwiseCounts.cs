namespace Apex.Arena;

/// <summary>
/// The sufficient statistics of a Bradley-Terry fit: per ordered pair of systems, A's wins, B's wins and
/// ties (both-bad votes are not counted). A refit over a million battles reads these cells, not the battles.
/// </summary>
public sealed class PairwiseCounts
{
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<string> _systems = [];
    private readonly Dictionary<(int A, int B), Cell> _cells = [];

    public IReadOnlyList<string> Systems => _systems;

    /// <summary>Battles counted per system (ties included, both-bad not).</summary>
    public int[] BattlesPerSystem { get; private set; } = [];

    public long Battles { get; private set; }

    public long BothBad { get; private set; }

    /// <summary>Battles between two tracks of one system: valid data that says nothing about ratings, skipped.</summary>
    public long SameSystem { get; private set; }

    public IEnumerable<(int A, int B, double WinsA, double WinsB, double Ties)> Cells =>
        _cells.Select(c => (c.Key.A, c.Key.B, c.Value.WinsA, c.Value.WinsB, c.Value.Ties));

    public static PairwiseCounts From(IEnumerable<Battle> battles, ArenaScope scope = ArenaScope.Overall)
    {
        var counts = new PairwiseCounts();
        foreach (var battle in battles.Where(b => BattleFile.InScope(b, scope)))
        {
            counts.Add(battle.ModelA, battle.ModelB, battle.Winner);
        }

        return counts;
    }

    public void Add(string modelA, string modelB, BattleWinner winner, double weight = 1)
    {
        if (string.Equals(modelA, modelB, StringComparison.Ordinal))
        {
            SameSystem += (long)weight;
            return;
        }

        var a = IndexOf(modelA);
        var b = IndexOf(modelB);
        if (winner == BattleWinner.BothBad)
        {
            BothBad += (long)weight;
            return;
        }

        // One cell per unordered pair, kept in (low, high) order.
        var (low, high, flipped) = a < b ? (a, b, false) : (b, a, true);
        var cell = _cells.GetValueOrDefault((low, high));
        switch (winner)
        {
            case BattleWinner.ModelA when !flipped:
            case BattleWinner.ModelB when flipped:
                cell.WinsA += weight;
                break;
            case BattleWinner.Tie:
                cell.Ties += weight;
                break;
            default:
                cell.WinsB += weight;
                break;
        }

        _cells[(low, high)] = cell;
        BattlesPerSystem[a] += (int)weight;
        BattlesPerSystem[b] += (int)weight;
        Battles += (long)weight;
    }

    /// <summary>A copy to fit on while this one keeps counting.</summary>
    public PairwiseCounts Clone()
    {
        var copy = new PairwiseCounts { BattlesPerSystem = [.. BattlesPerSystem], Battles = Battles, BothBad = BothBad, SameSystem = SameSystem };
        copy._systems.AddRange(_systems);
        foreach (var (name, index) in _index)
        {
            copy._index[name] = index;
        }

        foreach (var (key, cell) in _cells)
        {
            copy._cells[key] = cell;
        }

        return copy;
    }

    /// <summary>Wins per system (ties as halves), for reports.</summary>
    public (double Wins, double Ties) Record(int system)
    {
        double wins = 0, ties = 0;
        foreach (var (key, cell) in _cells)
        {
            if (key.A == system)
            {
                wins += cell.WinsA;
                ties += cell.Ties;
            }
            else if (key.B == system)
            {
                wins += cell.WinsB;
                ties += cell.Ties;
            }
        }

        return (wins, ties);
    }

    private int IndexOf(string system)
    {
        if (!_index.TryGetValue(system, out var i))
        {
            i = _systems.Count;
            _index[system] = i;
            _systems.Add(system);
            BattlesPerSystem = [.. BattlesPerSystem, 0];
        }

        return i;
    }

    private struct Cell
    {
        public double WinsA;
        public double WinsB;
        public double Ties;
    }
}
