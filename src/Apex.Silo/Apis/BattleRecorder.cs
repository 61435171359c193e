using Apex.Arena;
using Apex.Grains.Arena;

namespace Apex.Silo.Apis;

/// <summary>
/// Records battles, whoever sends them (<c>POST /battles</c>, a vote in the console): durably in the
/// battle log (the per-voter daily cap applies there), counted in the metrics, then handed to every
/// leaderboard.
/// </summary>
public sealed class BattleRecorder(BattleLog log, IGrainFactory grains, ArenaOptions options, TimeProvider time)
{
    public int DailyCapPerVoter => options.DailyCapPerVoter;

    public async Task<IReadOnlyList<BattleOutcome>> RecordAsync(IReadOnlyList<IncomingBattle> battles, CancellationToken cancellationToken = default)
    {
        var (outcomes, accepted) = await log.AppendAsync(battles, options.DailyCapPerVoter, time.GetUtcNow(), cancellationToken);
        foreach (var group in outcomes.GroupBy(o => o))
        {
            ArenaMetrics.Battles.Add(group.Count(), new KeyValuePair<string, object?>("outcome", group.Key switch
            {
                BattleOutcome.Accepted => "accepted",
                BattleOutcome.Duplicate => "duplicate",
                BattleOutcome.VoterCapReached => "voter_cap",
                BattleOutcome.Conflict => "conflict",
                var other => throw new InvalidOperationException($"No metric name for the battle outcome {other}."),
            }));
        }

        if (accepted.Count > 0)
        {
            // Counting is derived from the log: a lost hand-off is recounted when the board reactivates.
            await Task.WhenAll(Enum.GetNames<ArenaScope>().Select(scope => grains.GetGrain<ILeaderboardGrain>(scope.ToLowerInvariant()).AddAsync(accepted)));
        }

        return outcomes;
    }
}
