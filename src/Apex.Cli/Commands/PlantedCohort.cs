using System.Globalization;
using System.Text.Json;

namespace Apex.Cli.Commands;

/// <summary>
/// What <c>apex simulate --breakouts N</c> plants: a cohort of young tracks (two days old) streaming
/// steadily, 5 to 15 an hour, among which N take off twenty times as fast over the last twelve hours;
/// then it waits for the host to report them as breakouts.
/// </summary>
internal sealed record PlantedCohort(string Platform, IReadOnlyList<PlantedCohort.Track> Tracks, IReadOnlyList<string> Planted, IReadOnlyList<PlantedCohort.Event> Events)
{
    /// <summary>How long the host may take to report them: its populations refresh every minute.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    public sealed record Track(string Id, DateTimeOffset CreatedAt);

    public sealed record Event(string Id, string TrackId, long Count, DateTimeOffset Ts);

    public static PlantedCohort Make(SimulateCommand.Settings s, Random random)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(random);
        var at = s.Now ?? DateTimeOffset.UtcNow;
        var now = new DateTimeOffset(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var tracks = Enumerable.Range(0, SimulateCommand.CohortSize + s.Breakouts)
            .Select(i => new Track(i < s.Breakouts ? $"sim-{s.Seed}-rising-{i}" : $"sim-{s.Seed}-young-{i - s.Breakouts}", now.AddDays(-2).AddMinutes(random.Next(120))))
            .ToList();
        var planted = tracks.Take(s.Breakouts).Select(t => t.Id).ToList();
        var events = new List<Event>();
        foreach (var track in tracks)
        {
            var rate = 5 + random.Next(11);
            for (var hour = 36; hour >= 1; hour--)
            {
                var count = hour <= 12 && planted.Contains(track.Id) ? rate * 20 : rate;
                events.Add(new Event($"{track.Id}-h{hour}", track.Id, count, now.AddHours(-hour).AddMinutes(random.Next(60))));
            }
        }

        return new PlantedCohort(s.Platforms[0], tracks, planted, [.. events.OrderBy(_ => random.Next())]);
    }

    /// <summary>Waits until the host reports every planted breakout; true when it did, with what it reported printed.</summary>
    public static async Task<bool> AwaitBreakoutsAsync(HttpClient http, PlantedCohort cohort, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(cohort);
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (true)
        {
            using var response = await http.GetAsync(new Uri($"/platforms/{Uri.EscapeDataString(cohort.Platform)}/breakouts", UriKind.Relative), cancellationToken);
            var tracks = response.IsSuccessStatusCode
                ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("tracks").EnumerateArray().ToList()
                : [];
            var reported = tracks.ToDictionary(t => t.GetProperty("track_id").GetString()!, StringComparer.Ordinal);
            if (cohort.Planted.All(reported.ContainsKey))
            {
                foreach (var id in cohort.Planted)
                {
                    var t = reported[id];
                    CliConsole.Note(string.Create(CultureInfo.InvariantCulture,
                        $"breakout detected on {cohort.Platform}: {id}, {t.GetProperty("streams_per_hour").GetDouble():0.0} streams/h (was {t.GetProperty("previous_streams_per_hour").GetDouble():0.0}), cohort {t.GetProperty("cohort").GetString()} of {t.GetProperty("cohort_size").GetInt32()} tracks at a median {t.GetProperty("cohort_median").GetDouble():0.0}/h, z {t.GetProperty("z").GetDouble():0.0}"));
                }

                var steady = cohort.Tracks.Select(t => t.Id).Except(cohort.Planted).Count(reported.ContainsKey);
                CliConsole.Note($"{cohort.Planted.Count} planted breakout(s) found; {steady} of the {cohort.Tracks.Count - cohort.Planted.Count} steady young tracks flagged.");
                return true;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                CliConsole.Fail($"the host did not report the planted breakouts within {Patience.TotalMinutes:0} minutes: {string.Join(", ", cohort.Planted.Where(p => !reported.ContainsKey(p)))}");
                return false;
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
    }
}
