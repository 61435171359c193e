namespace Apex.Web.Data;

/// <summary>What the console needs of the host's settings: when a track counts as mature.</summary>
public sealed record ConsoleSettings(int MaturityDays);
