using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using MathNet.Numerics.Distributions;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex simulate</c>: a load generator for a running host, and a crash-safe client. Tracks arrive
/// over simulated days on a few platforms; streams and likes follow a Zipf law over tracks; events go
/// in batches with a share of deliberate duplicates and of whole-batch retries (a lost
/// acknowledgement). Everything (ids, times, batches) follows from --seed and --start, so a rerun sends
/// the very same requests; connection errors, 5xx and 429 are retried with exponential backoff and
/// jitter (Polly), which is safe because registrations and events are idempotent. With --progress the
/// acknowledged batches are recorded, and --resume skips them. At the end the simulator compares the
/// host's counts with its own, exactly.
/// </summary>
internal static class SimulateCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public sealed record Settings(Uri Url, string Key, int Tracks, string[] Platforms, int Days, int Events, int Batch, double Duplicates, double Retries, string[] Audio, int Seed, int Concurrency)
    {
        /// <summary>When the simulated days begin: fixed by default, so that reruns are identical.</summary>
        public DateTimeOffset Start { get; init; } = DefaultStart;

        /// <summary>Tries per request before giving up (connection errors, 5xx, 429).</summary>
        public int Attempts { get; init; } = 60;

        /// <summary>Where acknowledged batches are recorded (one index per line); null: nowhere.</summary>
        public string? Progress { get; init; }

        public bool Resume { get; init; }

        /// <summary>The systems the tracks come from, in turn (none: tracks without a system).</summary>
        public string[] Systems { get; init; } = ["suno-v4", "udio-v1", "riffusion"];

        /// <summary>How many prompts the tracks share: each prompt is given to one track of every system in turn, as arena battles need.</summary>
        public int Prompts { get; init; } = 12;

        /// <summary>
        /// Breakouts to plant: a cohort of young tracks (created two days before <see cref="Now"/>, streaming
        /// steadily) among which this many take off twenty times as fast over the last twelve hours; 0: none.
        /// </summary>
        public int Breakouts { get; init; }

        /// <summary>What the planted cohort's times are measured from (the run's start when not given).</summary>
        public DateTimeOffset? Now { get; init; }
    }

    /// <summary>Steady tracks in the planted cohort besides the breakouts: enough for a cohort to compare with.</summary>
    public const int CohortSize = 40;

    private static readonly string[] Genres = ["lo-fi hip hop", "synthwave", "bossa nova", "drum and bass", "folk ballad", "orchestral trailer"];
    private static readonly string[] Themes = ["about a night drive", "for a rainy morning", "with a catchy whistled hook", "about leaving home"];

    /// <summary>The prompt of track <paramref name="track"/>: tracks of one round of the systems share one.</summary>
    public static string? PromptOf(Settings s, int track)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Prompts < 1 || s.Systems.Length == 0)
        {
            return null;
        }

        var p = track / s.Systems.Length % s.Prompts;
        var combinations = Genres.Length * Themes.Length;
        var text = $"{Genres[p % Genres.Length]} {Themes[p / Genres.Length % Themes.Length]}";
        return p < combinations ? text : $"{text} (take {(p / combinations) + 1})";
    }

    public static readonly DateTimeOffset DefaultStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The host.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var key = new Option<string?>("--key") { Description = "An API key with the ingest role (default: $APEX_API_KEY)." };
        var tracks = new Option<int>("--tracks") { DefaultValueFactory = _ => 200 };
        var platforms = new Option<string>("--platforms") { DefaultValueFactory = _ => "suno,udio" };
        var days = new Option<int>("--days") { Description = "Simulated days over which tracks arrive and events happen.", DefaultValueFactory = _ => 30 };
        var events = new Option<int>("--events") { DefaultValueFactory = _ => 20_000 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1_000 };
        var duplicates = new Option<double>("--duplicates") { Description = "Share of events sent twice within their batch.", DefaultValueFactory = _ => 0.05 };
        var retries = new Option<double>("--retries") { Description = "Share of batches sent again whole, as after a lost acknowledgement.", DefaultValueFactory = _ => 0.05 };
        var audio = new Option<string>("--audio") { Description = "Audio paths (under the host's media root, comma-separated) the simulated tracks point to, in turn.", DefaultValueFactory = _ => "sorohan-solo-trumpet-06.ogg" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 4 };
        var start = new Option<DateTimeOffset>("--start") { Description = "When the simulated days begin (tracks' created_at, events' ts); fixed by default so that a rerun sends the same requests.", DefaultValueFactory = _ => DefaultStart };
        var attempts = new Option<int>("--attempts") { Description = "Tries per request through connection errors, 5xx and 429 (exponential backoff with jitter, at most 10 s apart).", DefaultValueFactory = _ => 60 };
        var progress = new Option<string?>("--progress") { Description = "A file recording the acknowledged batches (appended as they are acknowledged)." };
        var systems = new Option<string>("--systems") { Description = "The systems the tracks come from, comma-separated, in turn (empty: no system).", DefaultValueFactory = _ => "suno-v4,udio-v1,riffusion" };
        var breakouts = new Option<int>("--breakouts") { Description = $"Plant this many breakouts: young tracks (two days old) among {CohortSize} steady ones that take off twenty times as fast over the last twelve hours; the run then waits for the host to report them. Their times follow from when the run starts." };
        var prompts = new Option<int>("--prompts") { Description = "Prompts the tracks share (each given to one track of every system in turn; 0: no prompt).", DefaultValueFactory = _ => 12 };
        var resume = new Option<bool>("--resume") { Description = "Skip the batches --progress records as acknowledged (after a crash of this client or of the host)." };
        var command = new Command("simulate", "Send a synthetic stream of tracks and events to a running host and check its counts.")
        {
            url, key, tracks, platforms, days, events, batch, duplicates, retries, audio, seed, concurrency, start, attempts, progress, resume, systems, prompts, breakouts,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var apiKey = result.GetValue(key) ?? Environment.GetEnvironmentVariable("APEX_API_KEY");
            if (string.IsNullOrEmpty(apiKey))
            {
                CliConsole.Fail("give an API key with the ingest role: --key or APEX_API_KEY.");
                return ExitCodes.BadInput;
            }

            if (!Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out var address))
            {
                CliConsole.Fail($"--url '{result.GetValue(url)}' is not an absolute URL.");
                return ExitCodes.BadInput;
            }

            if (result.GetValue(resume) && result.GetValue(progress) is null)
            {
                CliConsole.Fail("--resume needs --progress FILE (where the acknowledged batches were recorded).");
                return ExitCodes.BadInput;
            }

            if (result.GetValue(start).AddDays(result.GetValue(days)) > DateTimeOffset.UtcNow)
            {
                CliConsole.Fail("--start plus --days must end by now: the host refuses events from the future.");
                return ExitCodes.BadInput;
            }

            if (result.GetValue(attempts) < 1 || result.GetValue(batch) < 1 || result.GetValue(tracks) < 1 || result.GetValue(concurrency) < 1)
            {
                CliConsole.Fail("--attempts, --batch, --tracks and --concurrency must be at least 1.");
                return ExitCodes.BadInput;
            }

            if (result.GetValue(prompts) < 0)
            {
                CliConsole.Fail("--prompts must be 0 or more.");
                return ExitCodes.BadInput;
            }

            if (result.GetValue(breakouts) is < 0 or > CohortSize / 4)
            {
                CliConsole.Fail($"--breakouts must be between 0 and {CohortSize / 4} (a cohort of {CohortSize} steady tracks stands beside them).");
                return ExitCodes.BadInput;
            }

            var settings = new Settings(address, apiKey, result.GetValue(tracks), result.GetValue(platforms)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                result.GetValue(days), result.GetValue(events), result.GetValue(batch), result.GetValue(duplicates), result.GetValue(retries), result.GetValue(audio)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), result.GetValue(seed), result.GetValue(concurrency))
            {
                Start = result.GetValue(start),
                Attempts = result.GetValue(attempts),
                Progress = result.GetValue(progress),
                Resume = result.GetValue(resume),
                Systems = result.GetValue(systems)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Prompts = result.GetValue(prompts),
                Breakouts = result.GetValue(breakouts),
            };
            try
            {
                return await RunAsync(settings, cancellationToken) ? ExitCodes.Ok : ExitCodes.SomeFailed;
            }
            catch (HttpRequestException ex)
            {
                CliConsole.Fail($"the host at {settings.Url} did not answer as expected: {ex.Message}");
                return ExitCodes.SomeFailed;
            }
        });
        return command;
    }

    /// <summary>Runs the simulation; true when the host's counts equal the simulator's.</summary>
    public static async Task<bool> RunAsync(Settings s, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = s.Url, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add("X-Api-Key", s.Key);
        long retriedRequests = 0;
        var retrying = HostClient.Retrying(s.Attempts, () => Interlocked.Increment(ref retriedRequests), cancellationToken);
        var random = new Random(s.Seed);
        var start = s.Start;
        var ids = Enumerable.Range(0, s.Tracks).Select(i => $"sim-{s.Seed}-{i}").ToArray();
        var arrivals = ids.Select(_ => start.AddMinutes(random.Next(s.Days * 24 * 60))).ToArray();

        await HostClient.WaitForHostAsync(http, cancellationToken);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, s.Tracks), new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            using var response = await retrying.ExecuteAsync(async c => await http.PostAsJsonAsync(new Uri("/tracks", UriKind.Relative), new { track_id = ids[i], platform = s.Platforms[i % s.Platforms.Length], created_at = arrivals[i], audio_path = s.Audio[i % s.Audio.Length], system = s.Systems.Length == 0 ? null : s.Systems[i % s.Systems.Length], prompt = PromptOf(s, i) }, c), ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"POST /tracks {ids[i]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
        });
        CliConsole.Note($"registered {s.Tracks} tracks on {string.Join(", ", s.Platforms)} in {clock.Elapsed.TotalSeconds:0.0} s");
        var cohort = s.Breakouts > 0 ? PlantedCohort.Make(s, random) : null;
        if (cohort is not null)
        {
            await Parallel.ForEachAsync(cohort.Tracks, new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (t, ct) =>
            {
                using var response = await retrying.ExecuteAsync(async c => await http.PostAsJsonAsync(new Uri("/tracks", UriKind.Relative), new { track_id = t.Id, platform = cohort.Platform, created_at = t.CreatedAt, audio_path = s.Audio[0] }, c), ct);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"POST /tracks {t.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                }
            });
            CliConsole.Note($"planted {s.Breakouts} breakout(s) among {cohort.Tracks.Count} young tracks on {cohort.Platform}: {string.Join(", ", cohort.Planted)}");
        }

        // Zipf over tracks: a few hits, a long tail; a track only gets events after it arrived.
        var zipf = new Zipf(1.1, s.Tracks, random);
        var expected = new Dictionary<string, (long Streams, long Likes)>();
        var sentBatches = new List<List<object>>();
        var current = new List<object>();
        for (var e = 0; e < s.Events; e++)
        {
            var index = zipf.Sample() - 1;
            var track = ids[index];
            // Within the simulated period: never after its end (the host refuses times in the future).
            var ts = Min(arrivals[index].AddMinutes(random.Next(60 * 24 * Math.Max(1, s.Days / 2))), start.AddDays(s.Days));
            var like = random.NextDouble() < 0.15;
            var ev = new { event_id = $"sim-{s.Seed}-ev-{e}", track_id = track, kind = like ? "like" : "stream", count = 1, ts };
            var (streams, likes) = expected.GetValueOrDefault(track);
            expected[track] = like ? (streams, likes + 1) : (streams + 1, likes);
            current.Add(ev);
            if (random.NextDouble() < s.Duplicates)
            {
                current.Add(ev);
            }

            if (current.Count >= s.Batch)
            {
                sentBatches.Add(current);
                current = [];
            }
        }

        if (current.Count > 0)
        {
            sentBatches.Add(current);
        }

        if (cohort is not null)
        {
            foreach (var chunk in cohort.Events.Chunk(s.Batch))
            {
                sentBatches.Add([.. chunk.Select(e => (object)new { event_id = e.Id, track_id = e.TrackId, kind = "stream", count = e.Count, ts = e.Ts })]);
            }

            foreach (var group in cohort.Events.GroupBy(e => e.TrackId))
            {
                expected[group.Key] = (group.Sum(e => e.Count), 0);
            }
        }

        var retried = sentBatches.Select((b, i) => i).Where(_ => random.NextDouble() < s.Retries).ToList();
        var plan = Enumerable.Range(0, sentBatches.Count).Concat(retried).Select((batch, n) => (Batch: batch, N: n)).ToList();
        using var progress = AcknowledgedBatches.Open(s.Progress, s.Resume);
        var todo = plan.Where(p => !progress.Done(p.N)).ToList();
        if (todo.Count < plan.Count)
        {
            CliConsole.Note($"resuming: {plan.Count - todo.Count} of {plan.Count} batches were acknowledged before");
        }

        long accepted = 0, duplicate = 0, conflict = 0, rejected = 0, sent = 0;
        clock.Restart();
        await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (step, ct) =>
        {
            var batch = sentBatches[step.Batch];
            using var response = await retrying.ExecuteAsync(async c => await http.PostAsJsonAsync(new Uri("/events", UriKind.Relative), new { events = batch }, c), ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"POST /events: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }

            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
            Interlocked.Add(ref accepted, body.GetProperty("accepted").GetInt64());
            Interlocked.Add(ref duplicate, body.GetProperty("duplicate").GetInt64());
            Interlocked.Add(ref conflict, body.TryGetProperty("conflict", out var c) ? c.GetInt64() : 0);
            Interlocked.Add(ref rejected, body.GetProperty("rejected").GetInt64());
            Interlocked.Add(ref sent, batch.Count);
            progress.Acknowledged(step.N);
        });
        var seconds = clock.Elapsed.TotalSeconds;
        CliConsole.Note($"sent {sent} events in {todo.Count} batches ({retried.Count} retried whole by design, {retriedRequests} requests retried after errors) in {seconds:0.0} s ({sent / seconds:0} events/s): accepted {accepted}, duplicate {duplicate}, conflict {conflict}, rejected {rejected}");

        var mismatches = 0;
        await Parallel.ForEachAsync(expected, new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (pair, ct) =>
        {
            using var response = await retrying.ExecuteAsync(async c => await http.GetAsync(new Uri($"/tracks/{pair.Key}", UriKind.Relative), c), ct);
            var view = JsonDocument.Parse(await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync(ct)).RootElement;
            if (view.GetProperty("streams").GetInt64() != pair.Value.Streams || view.GetProperty("likes").GetInt64() != pair.Value.Likes)
            {
                Interlocked.Increment(ref mismatches);
                CliConsole.Fail($"{pair.Key}: host counts {view.GetProperty("streams")}/{view.GetProperty("likes")}, simulator {pair.Value.Streams}/{pair.Value.Likes}");
            }
        });

        // The host's counts decide (a rerun or a resumed run sees earlier events as duplicates).
        var unique = expected.Values.Sum(v => v.Streams + v.Likes);
        var ok = mismatches == 0 && rejected == 0 && conflict == 0;
        CliConsole.Note(ok
            ? $"OK: the host's counts equal the simulator's for all {expected.Count} tracks ({unique} unique events, each counted once)."
            : $"MISMATCH: {mismatches} track(s) differ; {rejected} rejected and {conflict} conflicting events.");
        return ok && (cohort is null || await PlantedCohort.AwaitBreakoutsAsync(http, cohort, cancellationToken));
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
