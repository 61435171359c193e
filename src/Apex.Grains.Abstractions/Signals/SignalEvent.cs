namespace Apex.Grains.Signals;

/// <summary>
/// One event of the cluster's signal feed (breakout, scored, model_promoted, calibration_drift): numbered in the order it
/// was recorded (<see cref="Seq"/>, 0 until then), recorded once per <see cref="Key"/>, with its JSON body.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Apex.Grains.Signals.SignalEvent")]
public sealed record SignalEvent(
    [property: Id(0)] long Seq,
    [property: Id(1)] string Type,
    [property: Id(2)] string Key,
    [property: Id(3)] string? Platform,
    [property: Id(4)] string? TrackId,
    [property: Id(5)] DateTimeOffset At,
    [property: Id(6)] string Data)
{
    public const string Breakout = "breakout";
    public const string Scored = "scored";
    public const string ModelPromoted = "model_promoted";

    /// <summary>The trainer found the serving model's labels drifted enough to be due for a run (once per serving model and last run).</summary>
    public const string CalibrationDrift = "calibration_drift";

    public static readonly IReadOnlyList<string> Types = [Breakout, Scored, ModelPromoted, CalibrationDrift];
}
