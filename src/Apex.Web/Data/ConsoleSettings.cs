namespace Apex.Web.Data;

/// <summary>What the console needs of the host's settings: when a track counts as mature, and the arena's per-voter daily cap.</summary>
public sealed record ConsoleSettings(int MaturityDays, int DailyVotesPerVoter);
