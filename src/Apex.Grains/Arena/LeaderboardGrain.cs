using System.Diagnostics;
using Apex.Arena;
using Orleans.Concurrency;

namespace Apex.Grains.Arena;

/// <summary>How leaderboards refit (section Apex:Arena).</summary>
public sealed record ArenaOptions
{
    /// <summary>Bootstrap resamples per refit.</summary>
    public int Bootstrap { get; init; } = 1_000;

    /// <summary>New battles that trigger a refit at once (otherwise the periodic check refits any new ones).</summary>
    public int RefitEvery { get; init; } = 1_000;

    /// <summary>How often a board with new battles is refitted.</summary>
    public TimeSpan RefitInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Battles one voter may cast per UTC day.</summary>
    public int DailyCapPerVoter { get; init; } = 500;

    public int Seed { get; init; } = 42;
}

/// <summary>
/// A scope's board. On activation it rebuilds its pairwise counts and Elo from the durable battle log
/// (the counts are its state; the log is where they are kept durably), then counts new battles as they
/// are logged. Refits run on the thread pool, off the grain scheduler, on a snapshot of the counts: a
/// refit over a million battles (a few thousand cells) never holds up the silo or new battles, and the
/// board answers with the last finished refit meanwhile. Reentrant: adding is synchronous, so calls never
/// interleave inside an update.
/// </summary>
[Reentrant]
public sealed class LeaderboardGrain(BattleLog log, ArenaOptions? options = null) : Grain, ILeaderboardGrain
{
    private readonly PairwiseCounts _counts = new();
    private readonly Dictionary<string, double> _elo = new(StringComparer.Ordinal);
    private readonly ArenaOptions _options = options ?? new ArenaOptions();
    private ArenaScope _scope;
    private long _lastSeq;
    private long _sinceRefit;
    private Task<LeaderboardView>? _refit;
    private LeaderboardView? _board;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _scope = Enum.Parse<ArenaScope>(this.GetPrimaryKeyString(), ignoreCase: true);
        await foreach (var battle in log.ReadAsync(0, cancellationToken))
        {
            Count(battle);
        }

        _sinceRefit = _counts.Battles;
        this.RegisterGrainTimer(_ => RefitIfDueAsync(force: false), new GrainTimerCreationOptions(_options.RefitInterval, _options.RefitInterval) { Interleave = true });
    }

    Task ILeaderboardGrain.AddAsync(IReadOnlyList<ArenaBattle> battles)
    {
        ArgumentNullException.ThrowIfNull(battles);
        foreach (var battle in battles)
        {
            Count(battle);
        }

        if (_sinceRefit >= _options.RefitEvery)
        {
            _ = RefitIfDueAsync(force: false);
        }

        return Task.CompletedTask;
    }

    async Task<LeaderboardView> ILeaderboardGrain.GetAsync() =>
        _board ?? await RefitIfDueAsync(force: true);

    Task<LeaderboardView> ILeaderboardGrain.RefitAsync() => RefitIfDueAsync(force: true);

    private void Count(ArenaBattle battle)
    {
        if (battle.Seq <= _lastSeq)
        {
            return; // already counted (a reload raced a hand-off)
        }

        _lastSeq = battle.Seq;
        var inScope = _scope switch
        {
            ArenaScope.Instrumental => battle.Instrumental == true,
            ArenaScope.Vocal => battle.Instrumental == false,
            _ => true,
        };
        if (!inScope)
        {
            return;
        }

        var winner = (BattleWinner)battle.Winner;
        _counts.Add(battle.ModelA, battle.ModelB, winner);
        Elo.Apply(_elo, battle.ModelA, battle.ModelB, winner);
        _sinceRefit++;
    }

    private Task<LeaderboardView> RefitIfDueAsync(bool force)
    {
        if (_refit is { IsCompleted: false } running)
        {
            return running;
        }

        if (!force && _sinceRefit == 0 && _board is not null)
        {
            return Task.FromResult(_board);
        }

        if (!force && _sinceRefit == 0)
        {
            return Task.FromResult(Empty());
        }

        var counts = _counts.Clone();
        var elo = new Dictionary<string, double>(_elo, StringComparer.Ordinal);
        var options = _options;
        var scope = this.GetPrimaryKeyString();
        _sinceRefit = 0;
        _refit = Task.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var entries = Leaderboard.Build(counts, elo, options.Bootstrap, options.Seed);
            var rows = entries.Select(e => new LeaderboardRow(e.System, e.Rating, e.CiLow, e.CiHigh, e.RankUb, e.Battles, e.Wins, e.Ties, e.Elo, e.Provisional)).ToList();
            var view = new LeaderboardView(scope, rows, counts.Battles, counts.Battles, DateTimeOffset.UtcNow, clock.Elapsed.TotalSeconds, options.Bootstrap, counts.SameSystem, counts.BothBad);
            ArenaMetrics.RefitDuration.Record(clock.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("scope", scope));
            _board = view;
            return view;
        });
        return _refit;
    }

    private LeaderboardView Empty() => new(this.GetPrimaryKeyString(), [], _counts.Battles, 0, null, null, _options.Bootstrap, _counts.SameSystem, _counts.BothBad);
}
