using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using MathNet.Numerics.Distributions;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex simulate</c>: a load generator for a running host. Tracks arrive over simulated days on a
/// few platforms; streams and likes follow a Zipf law over tracks; events go in batches with a share
/// of deliberate duplicates and of whole-batch retries (a lost acknowledgement). At the end the
/// simulator compares the host's counts with its own.
/// </summary>
internal static class SimulateCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public sealed record Settings(Uri Url, string Key, int Tracks, string[] Platforms, int Days, int Events, int Batch, double Duplicates, double Retries, string[] Audio, int Seed, int Concurrency);

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
        var command = new Command("simulate", "Send a synthetic stream of tracks and events to a running host and check its counts.")
        {
            url, key, tracks, platforms, days, events, batch, duplicates, retries, audio, seed, concurrency,
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

            var settings = new Settings(address, apiKey, result.GetValue(tracks), result.GetValue(platforms)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                result.GetValue(days), result.GetValue(events), result.GetValue(batch), result.GetValue(duplicates), result.GetValue(retries), result.GetValue(audio)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), result.GetValue(seed), result.GetValue(concurrency));
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
        var random = new Random(s.Seed);
        var start = DateTimeOffset.UtcNow.AddDays(-s.Days);
        var ids = Enumerable.Range(0, s.Tracks).Select(i => $"sim-{s.Seed}-{i}").ToArray();
        var arrivals = ids.Select(_ => start.AddMinutes(random.Next(s.Days * 24 * 60))).ToArray();

        await WaitForHostAsync(http, cancellationToken);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, s.Tracks), new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var response = await http.PostAsJsonAsync(new Uri("/tracks", UriKind.Relative), new { track_id = ids[i], platform = s.Platforms[i % s.Platforms.Length], created_at = arrivals[i], audio_path = s.Audio[i % s.Audio.Length] }, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"POST /tracks {ids[i]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
        });
        CliConsole.Note($"registered {s.Tracks} tracks on {string.Join(", ", s.Platforms)} in {clock.Elapsed.TotalSeconds:0.0} s");

        // Zipf over tracks: a few hits, a long tail; a track only gets events after it arrived.
        var zipf = new Zipf(1.1, s.Tracks, random);
        var expected = new Dictionary<string, (long Streams, long Likes)>();
        var sentBatches = new List<List<object>>();
        var current = new List<object>();
        for (var e = 0; e < s.Events; e++)
        {
            var index = zipf.Sample() - 1;
            var track = ids[index];
            var ts = arrivals[index].AddMinutes(random.Next(60 * 24 * Math.Max(1, s.Days / 2)));
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

        var retried = sentBatches.Where(_ => random.NextDouble() < s.Retries).ToList();
        long accepted = 0, duplicate = 0, rejected = 0, sent = 0;
        clock.Restart();
        await Parallel.ForEachAsync(sentBatches.Concat(retried), new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (batch, ct) =>
        {
            var response = await http.PostAsJsonAsync(new Uri("/events", UriKind.Relative), new { events = batch }, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"POST /events: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }

            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
            Interlocked.Add(ref accepted, body.GetProperty("accepted").GetInt64());
            Interlocked.Add(ref duplicate, body.GetProperty("duplicate").GetInt64());
            Interlocked.Add(ref rejected, body.GetProperty("rejected").GetInt64());
            Interlocked.Add(ref sent, batch.Count);
        });
        var seconds = clock.Elapsed.TotalSeconds;
        CliConsole.Note($"sent {sent} events in {sentBatches.Count + retried.Count} batches ({retried.Count} retried whole) in {seconds:0.0} s ({sent / seconds:0} events/s): accepted {accepted}, duplicate {duplicate}, rejected {rejected}");

        var mismatches = 0;
        await Parallel.ForEachAsync(expected, new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (pair, ct) =>
        {
            var view = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/tracks/{pair.Key}", UriKind.Relative), ct)).RootElement;
            if (view.GetProperty("streams").GetInt64() != pair.Value.Streams || view.GetProperty("likes").GetInt64() != pair.Value.Likes)
            {
                Interlocked.Increment(ref mismatches);
                CliConsole.Fail($"{pair.Key}: host counts {view.GetProperty("streams")}/{view.GetProperty("likes")}, simulator {pair.Value.Streams}/{pair.Value.Likes}");
            }
        });

        var unique = expected.Values.Sum(v => v.Streams + v.Likes);
        var ok = mismatches == 0 && accepted == unique && rejected == 0;
        CliConsole.Note(ok
            ? $"OK: the host's counts equal the simulator's for all {expected.Count} tracks ({unique} unique events, each counted once)."
            : $"MISMATCH: {mismatches} track(s) differ; {accepted} accepted for {unique} unique events.");
        return ok;
    }

    /// <summary>Waits up to a minute for /health, so a script can start the host and the simulator together.</summary>
    private static async Task WaitForHostAsync(HttpClient http, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 120; attempt++)
        {
            try
            {
                if ((await http.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(500, cancellationToken);
        }

        throw new HttpRequestException($"no answer from {http.BaseAddress}health within a minute.");
    }
}
