namespace Apex.Grains.Backfill;

/// <summary>Settings Apex:Backfill: how much of the scoring capacity a catalogue backfill may take.</summary>
public sealed class BackfillOptions
{
    public const string Section = "Apex:Backfill";

    /// <summary>Tracks admitted and not yet scored, at most, while no live track waits.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000)]
    public int MaxInFlight { get; set; } = 8;

    /// <summary>
    /// The share reserved for the backfill while live tracks wait: at most this many admitted tracks in
    /// flight, so the backfill always progresses and live tracks keep the rest.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000)]
    public int InFlightWhileLive { get; set; } = 1;

    /// <summary>Between two admission rounds, and between two reports of a silo's live queue.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a silo's report of its live queue counts when no newer one comes (a silo that died reported last).</summary>
    public TimeSpan LiveReportLifetime => Interval * 5;
}
