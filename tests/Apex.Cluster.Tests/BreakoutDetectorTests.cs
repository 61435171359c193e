using Apex.Grains.Signals;

namespace Apex.Cluster.Tests;

public sealed class BreakoutDetectorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly SignalOptions Options = new();

    /// <summary>Tracks two days old streaming about 10 an hour (8 to 12), with the given tracks added.</summary>
    private static List<BreakoutDetector.Sample> Cohort(int size, params BreakoutDetector.Sample[] extra) =>
    [
        .. Enumerable.Range(0, size).Select(i => new BreakoutDetector.Sample($"n{i:00}", Now.AddDays(-2).AddMinutes(i), 24 * (8 + (i % 5)), 24 * 10, null)),
        .. extra,
    ];

    [Fact]
    public void A_track_far_faster_than_its_cohort_breaks_out_and_the_rest_do_not()
    {
        var velocities = BreakoutDetector.Detect(Cohort(30, new BreakoutDetector.Sample("hit", Now.AddDays(-2), 24 * 150, 24 * 20, null)), Now, Options);

        var hit = velocities.Single(v => v.TrackId == "hit");
        Assert.Equal(["cohort"], hit.Reasons);
        Assert.Equal(150, hit.StreamsPerHour, 6);
        Assert.Equal(130, hit.Change, 6);
        Assert.Equal("1-3d", hit.Cohort);
        Assert.Equal(31, hit.CohortSize);
        Assert.True(hit.Z > Options.BreakoutZ);
        Assert.Equal(Now, hit.BreakoutSince);
        Assert.Equal(["hit"], velocities.Where(v => v.IsBreakout).Select(v => v.TrackId));
    }

    [Fact]
    public void A_small_cohort_a_quiet_track_or_another_age_band_is_no_breakout()
    {
        Assert.DoesNotContain(BreakoutDetector.Detect(Cohort(10, new BreakoutDetector.Sample("hit", Now.AddDays(-2), 24 * 150, 0, null)), Now, Options), v => v.IsBreakout);
        // The cohort streams nothing; one stream in 24 hours is far above it on a log scale, but below the floor.
        var quiet = Enumerable.Range(0, 30).Select(i => new BreakoutDetector.Sample($"q{i}", Now.AddDays(-2), 0, 0, null)).Append(new("one", Now.AddDays(-2), 1, 0, null)).ToList();
        Assert.DoesNotContain(BreakoutDetector.Detect(quiet, Now, Options), v => v.IsBreakout);
        // A ten-day-old track is measured against ten-day-old tracks only (none here): no cohort to beat.
        var older = BreakoutDetector.Detect(Cohort(30, new BreakoutDetector.Sample("old", Now.AddDays(-10), 24 * 150, 0, null)), Now, Options).Single(v => v.TrackId == "old");
        Assert.Equal(("7-15d", 1, false), (older.Cohort, older.CohortSize, older.IsBreakout));
    }

    [Fact]
    public void A_young_track_is_measured_over_its_age_and_a_surprise_against_its_prediction_needs_half_the_z()
    {
        var young = new BreakoutDetector.Sample("young", Now.AddHours(-6), 60, 0, null);
        Assert.Equal(10, BreakoutDetector.PerHour(young, Now), 6);

        // About 2.6 spreads above the cohort: no cohort breakout, but predicted at 10 of 100 it is a surprise.
        var velocities = BreakoutDetector.Detect(Cohort(30, new BreakoutDetector.Sample("surprise", Now.AddDays(-2), 24 * 20, 0, 10)), Now, Options);
        var surprise = velocities.Single(v => v.TrackId == "surprise");
        Assert.InRange(surprise.Z, Options.BreakoutZ / 2, Options.BreakoutZ);
        Assert.Equal(["prediction"], surprise.Reasons);
        Assert.Equal(100 - (0.5 * 100.0 / 31), surprise.VelocityScore, 6);
    }

    [Fact]
    public void A_breakout_keeps_the_time_it_was_first_seen()
    {
        var first = Now.AddMinutes(-30);
        var hit = BreakoutDetector.Detect(Cohort(30, new BreakoutDetector.Sample("hit", Now.AddDays(-2), 24 * 150, 0, null)), Now, Options, new Dictionary<string, DateTimeOffset> { ["hit"] = first })
            .Single(v => v.TrackId == "hit");
        Assert.Equal(first, hit.BreakoutSince);
    }
}
