using System.ComponentModel.DataAnnotations;

namespace Apex.Grains.Signals;

/// <summary>Settings Apex:Signals: what counts as a young track, and when its velocity is a breakout.</summary>
public sealed class SignalOptions
{
    public const string Section = "Apex:Signals";

    /// <summary>Tracks created within this many days have a velocity and can break out.</summary>
    [Range(1, 366)]
    public int YoungDays { get; set; } = 14;

    /// <summary>A breakout's velocity is at least this many robust standard deviations above its cohort's median (on a log scale).</summary>
    [Range(0.5, 100)]
    public double BreakoutZ { get; set; } = 3.5;

    /// <summary>Below this many tracks, a cohort is too small to tell a breakout from noise.</summary>
    [Range(3, 1_000_000)]
    public int MinCohort { get; set; } = 20;

    /// <summary>A breakout earns at least this many streams per hour, however quiet its cohort.</summary>
    [Range(0, 1_000_000)]
    public double MinStreamsPerHour { get; set; } = 1;

    /// <summary>
    /// Far above its prediction: the velocity score (its percentile in the cohort, 0 to 100) exceeds the
    /// predicted streams score by this much; then half of <see cref="BreakoutZ"/> is enough.
    /// </summary>
    [Range(1, 100)]
    public double PredictionGap { get; set; } = 40;

    /// <summary>How often each platform's velocities are computed again.</summary>
    public TimeSpan Refresh { get; set; } = TimeSpan.FromMinutes(1);
}
