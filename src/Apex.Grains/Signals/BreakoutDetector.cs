namespace Apex.Grains.Signals;

/// <summary>
/// Finds the young tracks that take off far faster than tracks of their platform and age. Velocities are
/// heavy-tailed, so they are compared on a log scale (log(1 + streams per hour)), against the cohort's
/// median in units of its median absolute deviation (a robust z-score: a few breakouts do not hide
/// themselves by widening the spread they are measured against).
/// </summary>
public static class BreakoutDetector
{
    /// <summary>The least spread a cohort is measured with (log scale): a cohort whose tracks all run alike does not make noise a breakout.</summary>
    public const double MinSpread = 0.25;

    /// <summary>A young track's streams in the last 24 hours and the 24 before, and its predicted streams score when scored.</summary>
    public sealed record Sample(string TrackId, DateTimeOffset CreatedAt, long Last24Hours, long Previous24Hours, double? PredictedStreams);

    public static IReadOnlyList<TrackVelocity> Detect(IReadOnlyList<Sample> samples, DateTimeOffset now, SignalOptions options, IReadOnlyDictionary<string, DateTimeOffset>? breakoutSince = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(options);
        var velocities = new List<TrackVelocity>(samples.Count);
        foreach (var cohort in samples.GroupBy(s => CohortBand.Of(now - s.CreatedAt)))
        {
            var members = cohort.Select(s => (Sample: s, PerHour: PerHour(s, now))).ToList();
            var logs = members.Select(m => Math.Log(1 + m.PerHour)).Order().ToArray();
            var median = Median(logs);
            var spread = Math.Max(MinSpread, 1.4826 * Median([.. logs.Select(x => Math.Abs(x - median)).Order()]));
            foreach (var (sample, perHour) in members)
            {
                var x = Math.Log(1 + perHour);
                var z = (x - median) / spread;
                var below = LowerBound(logs, x);
                var ties = LowerBound(logs, Math.BitIncrement(x)) - below;
                var score = 100.0 * (below + (0.5 * ties)) / logs.Length;
                var reasons = new List<string>(2);
                if (logs.Length >= options.MinCohort && perHour >= options.MinStreamsPerHour)
                {
                    if (z >= options.BreakoutZ)
                    {
                        reasons.Add("cohort");
                    }

                    if (sample.PredictedStreams is { } predicted && score - predicted >= options.PredictionGap && z >= options.BreakoutZ / 2)
                    {
                        reasons.Add("prediction");
                    }
                }

                DateTimeOffset? since = reasons.Count == 0 ? null : breakoutSince?.GetValueOrDefault(sample.TrackId) is { } held && held != default ? held : now;
                velocities.Add(new TrackVelocity(sample.TrackId, sample.CreatedAt, perHour, sample.Previous24Hours / 24.0, CohortBand.Name(cohort.Key),
                    logs.Length, Math.Exp(median) - 1, z, score, sample.PredictedStreams, reasons, since));
            }
        }

        return velocities;
    }

    /// <summary>Streams per hour over the last 24 hours, or over its age when younger (at least an hour).</summary>
    public static double PerHour(Sample sample, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var hours = Math.Clamp((now - sample.CreatedAt).TotalHours, 1, 24);
        return sample.Last24Hours / hours;
    }

    private static double Median(double[] sorted) =>
        sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;

    private static int LowerBound(double[] sorted, double value)
    {
        var (lo, hi) = (0, sorted.Length);
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
