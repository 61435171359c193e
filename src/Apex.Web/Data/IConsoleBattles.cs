using Apex.Grains.Arena;

namespace Apex.Web.Data;

/// <summary>What became of a vote: recorded, already recorded (the same vote again), refused by the voter's daily cap, or in conflict with another vote of that id.</summary>
public enum VoteOutcome
{
    Recorded,
    AlreadyRecorded,
    DailyCapReached,
    Conflict,
}

/// <summary>The host's battle log and judge, as the console's voting page needs them.</summary>
public interface IConsoleBattles
{
    int DailyCapPerVoter { get; }

    /// <summary>Records a vote on <paramref name="pair"/> (a, b, tie or both_bad) as a battle of the signed-in key's voter, through the same log as <c>POST /battles</c>.</summary>
    Task<VoteOutcome> RecordAsync(string battleId, ArenaPairView pair, string vote, string voterKeyId, CancellationToken cancellationToken = default);

    /// <summary>The judge's P(A preferred) and its model version; null while it has no model or a track has no scores.</summary>
    Task<(double Probability, string Version)?> PreferAAsync(string trackA, string trackB, bool instrumental);
}
