using System.Diagnostics.Metrics;

namespace Apex.Grains.Arena;

/// <summary>The arena's instruments (meter "Apex.Arena"): battles recorded by outcome, refit durations.</summary>
public static class ArenaMetrics
{
    public const string MeterName = "Apex.Arena";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Battles = Meter.CreateCounter<long>("apex.arena.battles", "{battle}", "Battles received, by outcome (accepted, duplicate, voter_cap).");

    private static long _judged;

    static ArenaMetrics()
    {
        // Observable, so the series exists (at 0) before the first judgement and dashboards never miss it.
        Meter.CreateObservableCounter("apex.arena.judged", () => Interlocked.Read(ref _judged), "{pair}", "Pairs judged by POST /judge.");
    }

    public static void RecordJudged(long pairs) => Interlocked.Add(ref _judged, pairs);

    public static readonly Histogram<double> RefitDuration = Meter.CreateHistogram<double>("apex.arena.refit.duration", "s", "Time of one leaderboard refit (Bradley-Terry and bootstrap), by scope.");
}
