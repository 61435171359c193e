using Apex.Grains.Arena;
using Apex.Web.Data;

namespace Apex.Silo.Apis;

/// <summary>The console's votes, recorded as <c>POST /battles</c> records battles: the documented vote names, the voter hashed and capped per day.</summary>
public sealed class ConsoleBattles(BattleRecorder recorder, PreferenceJudge judge) : IConsoleBattles
{
    private static readonly string[] Votes = ["a", "b", "tie", "both_bad"];

    public int DailyCapPerVoter => recorder.DailyCapPerVoter;

    public async Task<VoteOutcome> RecordAsync(string battleId, ArenaPairView pair, string vote, string voterKeyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pair);
        var winner = Array.IndexOf(Votes, vote);
        if (winner < 0)
        {
            throw new ArgumentException("A vote is a, b, tie or both_bad.", nameof(vote));
        }

        var instrumental = pair.A.Instrumental == pair.B.Instrumental ? pair.A.Instrumental : null;
        // The voter is the signed-in key: its id, hashed and capped as every voter id is.
        var battle = new IncomingBattle(battleId, pair.A.System, pair.B.System, winner, instrumental, pair.A.TrackId, pair.B.TrackId, VoterIds.Hash("key:" + voterKeyId));
        return (await recorder.RecordAsync([battle], cancellationToken))[0] switch
        {
            BattleOutcome.Accepted => VoteOutcome.Recorded,
            BattleOutcome.Duplicate => VoteOutcome.AlreadyRecorded,
            BattleOutcome.VoterCapReached => VoteOutcome.DailyCapReached,
            BattleOutcome.Conflict => VoteOutcome.Conflict,
            var other => throw new InvalidOperationException($"No vote outcome for the battle outcome {other}."),
        };
    }

    public Task<(double Probability, string Version)?> PreferAAsync(string trackA, string trackB, bool instrumental) => judge.PreferAAsync(trackA, trackB, instrumental);
}
