using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Apex.Embedding.Encoding;
using Apex.Grains.Scoring;
using Apex.Scoring;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench scoring</c>: tracks/s and segments/s through the scoring path (decode on the bounded
/// pool, dynamic batching into the encoder, the head) per max batch size, then the time from POST /tracks
/// to scores through a running local host, p50/p99.
/// </summary>
internal static class BenchScoringCommand
{
    public static Command Create()
    {
        var encoder = new Option<string?>("--encoder") { Description = "Encoder (default: the bundled tiny fixture; tools/export-mert random-full for a full-size MERT-95M)." };
        var tracks = new Option<int>("--tracks") { Description = "Tracks per run (the bundled recordings, cycled).", DefaultValueFactory = _ => 32 };
        var batches = new Option<string>("--batches") { Description = "Max batch sizes to sweep, comma-separated.", DefaultValueFactory = _ => "1,4,8" };
        var wait = new Option<int>("--max-wait-ms") { Description = "How long a partial batch waits for more segments.", DefaultValueFactory = _ => 20 };
        var httpTracks = new Option<int>("--http-tracks") { Description = "Tracks registered through the HTTP API for the latency run (0: skip it).", DefaultValueFactory = _ => 32 };
        var alone = new Option<int>("--alone") { Description = "Tracks registered one at a time through the HTTP API, each waited for until scored, before the run of --http-tracks at once.", DefaultValueFactory = _ => 0 };
        var trackSeconds = new Option<int>("--track-seconds") { Description = "Make the HTTP runs' track this long (the bundled recordings looped with ffmpeg) instead of cycling the bundled recordings.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var command = new Command("scoring", "Time the scoring path: decode + embed (dynamic batching) + head, and POST /tracks to scores.")
        {
            encoder, tracks, batches, wait, httpTracks, alone, trackSeconds, output,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var sizes = result.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
            var path = result.GetValue(encoder) ?? BundledAssets.TinyEncoder;
            if (!File.Exists(path) || result.GetValue(tracks) < 1 || sizes.Any(b => b < 1) || result.GetValue(alone) < 0 || result.GetValue(trackSeconds) is < 0 or > 900)
            {
                CliConsole.Fail("--encoder must exist, --tracks ≥ 1, batch sizes ≥ 1, --alone ≥ 0 and --track-seconds 0..900.");
                return ExitCodes.BadInput;
            }

            var temp = Directory.CreateTempSubdirectory("apex-bench-scoring-").FullName;
            try
            {
                var http = new HttpRuns(result.GetValue(httpTracks), result.GetValue(alone), result.GetValue(trackSeconds));
                var report = await RunAsync(path, result.GetValue(tracks), sizes, TimeSpan.FromMilliseconds(result.GetValue(wait)), http, temp, cancellationToken);
                Console.Write(report);
                if (result.GetValue(output) is { } file)
                {
                    await File.AppendAllTextAsync(file, report, cancellationToken);
                }

                return ExitCodes.Ok;
            }
            finally
            {
                SqliteConnection.ClearAllPools();
                Directory.Delete(temp, recursive: true);
            }
        });
        return command;
    }

    private sealed record PipelineRun(int MaxBatch, double Seconds, int Tracks, long Segments, long Runs, int Largest);

    /// <summary>The HTTP runs: tracks registered at once, tracks registered one at a time, and the track's length (0: the bundled recordings).</summary>
    private sealed record HttpRuns(int Together, int Alone, int TrackSeconds);

    private static async Task<string> RunAsync(string encoderPath, int tracks, int[] batches, TimeSpan maxWait, HttpRuns http, string temp, CancellationToken cancellationToken)
    {
        using var loggers = CliConsole.CreateLoggerFactory(verbose: false);
        // Cold start: the session's opening and first run, against a warm run of the same segment.
        var segment = new float[720_000];
        var clock0 = Stopwatch.StartNew();
        EncoderInfo info;
        double open, first, warm;
        using (var probe = new OnnxAudioEncoder(encoderPath, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1 }))
        {
            info = probe.Info;
            open = clock0.Elapsed.TotalSeconds;
            clock0.Restart();
            probe.Encode([segment], cancellationToken);
            first = clock0.Elapsed.TotalSeconds;
            clock0.Restart();
            probe.Encode([segment], cancellationToken);
            warm = clock0.Elapsed.TotalSeconds;
        }

        CliConsole.Note($"cold start: session open {open:0.00} s, first run {first:0.00} s, warm run {warm:0.00} s");

        CliConsole.Note($"training a synthetic-demo head for {info.LayerCount} × {info.HiddenSize} embeddings");
        var models = Path.Combine(temp, "models");
        var serving = await new ModelRegistry(models).EnsureServingAsync(info.LayerCount, info.HiddenSize, cancellationToken);
        using var head = new ModelHost(serving);
        var songs = Directory.GetFiles(BundledAssets.Samples, "*.ogg").Order(StringComparer.Ordinal).ToArray();

        var runs = new List<PipelineRun>();
        foreach (var batch in batches)
        {
            var options = new ScoringOptions { Encoder = encoderPath, AllowCpu = true, MaxBatch = batch, MaxWait = maxWait, QueueCapacity = tracks };
            using var backend = new OnnxEmbeddingBackend(options, new MediaLocations(BundledAssets.Samples, temp), loggers);
            await backend.EmbedAsync(0, new EmbedJob("warm-up", Path.GetFileName(songs[0])), "bench", cancellationToken);
            var before = backend.Stats(0, "bench");
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, tracks).Select(async i =>
            {
                var outcome = await backend.EmbedAsync(0, new EmbedJob($"t{i}", Path.GetFileName(songs[i % songs.Length])), "bench", cancellationToken);
                _ = head.Predict(outcome, $"embeddings:t{i}", DateTimeOffset.UtcNow);
            }));
            var seconds = clock.Elapsed.TotalSeconds;
            var after = backend.Stats(0, "bench");
            runs.Add(new PipelineRun(batch, seconds, tracks, after.Segments - before.Segments, after.Runs - before.Runs, after.LargestBatch));
            CliConsole.Note($"max batch {batch}: {tracks / seconds:0.00} tracks/s, {(after.Segments - before.Segments) / seconds:0.00} segments/s");
        }

        var latency = http.Together > 0 || http.Alone > 0 ? await HttpLatencyAsync(encoderPath, models, runs.MaxBy(r => r.Segments / r.Seconds)!.MaxBatch, maxWait, http, songs, temp, cancellationToken) : null;

        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"### apex bench scoring: {Path.GetFileName(encoderPath)} ({info.LayerCount} × {info.HiddenSize}, {info.Runs}), {tracks} tracks, max wait {maxWait.TotalMilliseconds:0} ms, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores. Tracks are the bundled recordings, cycled; each is decoded (ffmpeg), its 30 s segments batched with other tracks' segments into the encoder, and scored by a synthetic-demo head.");
        md.AppendLine();
        md.AppendLine("| max batch | tracks/s | segments/s | encoder runs | mean batch | largest batch |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in runs)
        {
            md.AppendLine(inv, $"| {r.MaxBatch} | {r.Tracks / r.Seconds:0.00} | {r.Segments / r.Seconds:0.00} | {r.Runs} | {(double)r.Segments / Math.Max(1, r.Runs):0.0} | {r.Largest} |");
        }

        md.AppendLine();
        md.AppendLine(inv, $"Cold start of one encoder session (what the host now does at start, in the background): opening {open:0.00} s, first run of a 30 s segment {first:0.00} s, a warm run {warm:0.00} s.");
        if (latency is { } l)
        {
            var what = http.TrackSeconds > 0 ? $"a {http.TrackSeconds} s track" : "the bundled recordings, cycled";
            md.AppendLine();
            if (l.Alone is { } alone)
            {
                md.AppendLine(inv, $"POST /tracks → seven scores (server timestamps), {what}, {http.Alone} tracks registered one at a time, each alone in the host (max batch {l.Batch}): p50 **{alone.P50:0.00} s**, p99 {alone.P99:0.00} s.");
            }

            if (l.Together is { } together)
            {
                md.AppendLine(inv, $"POST /tracks → seven scores, {what}, {http.Together} tracks registered at once (max batch {l.Batch}): p50 **{together.P50:0.00} s**, p99 {together.P99:0.00} s, all scored in {together.Total:0.0} s.");
            }
        }

        md.AppendLine();
        md.AppendLine(inv, $"Command: `apex bench scoring{(encoderPath == BundledAssets.TinyEncoder ? "" : " --encoder " + Path.GetFileName(encoderPath))} --tracks {tracks} --batches {string.Join(',', batches)} --max-wait-ms {maxWait.TotalMilliseconds:0} --http-tracks {http.Together} --alone {http.Alone} --track-seconds {http.TrackSeconds}`");
        md.AppendLine();
        return md.ToString();
    }

    private sealed record Percentiles(double P50, double P99, double Total);

    private sealed record Latency(int Batch, Percentiles? Alone, Percentiles? Together);

    /// <summary>Registers tracks through a local host and reads each one's registered-to-scored time: one at a time, then all at once.</summary>
    private static async Task<Latency> HttpLatencyAsync(string encoderPath, string models, int batch, TimeSpan maxWait, HttpRuns runs, string[] songs, string temp, CancellationToken cancellationToken)
    {
        var media = Directory.CreateDirectory(Path.Combine(temp, "media")).FullName;
        foreach (var song in songs)
        {
            File.Copy(song, Path.Combine(media, Path.GetFileName(song)));
        }

        var audio = runs.TrackSeconds > 0 ? [await LongTrackAsync(songs, media, runs.TrackSeconds, cancellationToken)] : songs.Select(s => Path.GetFileName(s)).ToArray();
        var port = LoopbackPorts.Free();
        string[] settings =
        [
            "--urls", $"http://127.0.0.1:{port}", $"--Apex:DataDir={temp}/data", $"--Apex:MediaRoot={media}", $"--Apex:ModelsDir={models}",
            "--Logging:LogLevel:Default=Warning", $"--Apex:SiloPort={LoopbackPorts.Free()}", $"--Apex:GatewayPort={LoopbackPorts.Free()}",
            $"--Apex:Embedding:Encoder={encoderPath}", $"--Apex:Embedding:MaxBatch={batch}", $"--Apex:Embedding:MaxWait={maxWait}",
            $"--Apex:Embedding:QueueCapacity={Math.Max(runs.Together, 1)}",
        ];
        await using var host = await ApexSiloHost.BuildAsync(settings);
        await host.StartAsync(cancellationToken);
        try
        {
            var key = (await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync(Roles.Admin, "apex bench scoring", null, cancellationToken)).Key;
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(10) };
            http.DefaultRequestHeaders.Add("X-Api-Key", key);
            // The session warms at start in the background: the alone runs begin once it has.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            _ = host.Services.GetRequiredService<OnnxEmbeddingBackend>().EncoderInfo(0);
            Percentiles? alone = null;
            if (runs.Alone > 0)
            {
                var latencies = new List<double>();
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < runs.Alone; i++)
                {
                    latencies.AddRange(await ScoreAsync(http, [$"alone-{i}"], audio, cancellationToken));
                }

                alone = Summarise(latencies, clock.Elapsed.TotalSeconds);
            }

            Percentiles? together = null;
            if (runs.Together > 0)
            {
                var clock = Stopwatch.StartNew();
                together = Summarise(await ScoreAsync(http, Enumerable.Range(0, runs.Together).Select(i => $"http-{i}").ToList(), audio, cancellationToken), clock.Elapsed.TotalSeconds);
            }

            return new Latency(batch, alone, together);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static Percentiles Summarise(List<double> latencies, double total)
    {
        latencies.Sort();
        return new Percentiles(latencies[latencies.Count / 2], latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(latencies.Count * 0.99) - 1)], total);
    }

    /// <summary>Registers the tracks at once and waits for each to be scored; answers each one's registered-to-scored seconds.</summary>
    private static async Task<List<double>> ScoreAsync(HttpClient http, IReadOnlyList<string> ids, string[] audio, CancellationToken cancellationToken)
    {
        await Task.WhenAll(ids.Select(async (id, i) => (await http.PostAsJsonAsync(new Uri("/tracks", UriKind.Relative),
            new { track_id = id, platform = "bench", created_at = DateTimeOffset.UtcNow, audio_path = audio[i % audio.Length] }, cancellationToken)).EnsureSuccessStatusCode()));
        var latencies = new List<double>();
        foreach (var id in ids)
        {
            while (true)
            {
                var track = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/tracks/{id}", UriKind.Relative), cancellationToken)).RootElement;
                var scoring = track.GetProperty("scoring");
                if (scoring.GetProperty("status").GetString() == "scored")
                {
                    var registered = track.GetProperty("registered_at").GetDateTimeOffset();
                    latencies.Add((scoring.GetProperty("scored_at").GetDateTimeOffset() - registered).TotalSeconds);
                    break;
                }

                if (scoring.GetProperty("status").GetString() == "failed")
                {
                    throw new InvalidOperationException($"{id} failed: {scoring.GetProperty("error").GetString()}");
                }

                await Task.Delay(50, cancellationToken);
            }
        }

        return latencies;
    }

    /// <summary>A track of <paramref name="seconds"/> made by looping the bundled recordings one after another (ffmpeg).</summary>
    private static async Task<string> LongTrackAsync(string[] songs, string media, int seconds, CancellationToken cancellationToken)
    {
        var list = Path.Combine(media, "loop.txt");
        await File.WriteAllLinesAsync(list, songs.Select(s => $"file '{s.Replace("'", "'\\''", StringComparison.Ordinal)}'"), cancellationToken);
        // Exactly the samples asked for, kept by FLAC: looping and a lossy encoder's padding would add a
        // few milliseconds, and with them a whole extra 30 s segment at a multiple of 30 s.
        var name = $"long-{seconds}s.flac";
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (var argument in (string[])["-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-f", "concat", "-safe", "0", "-i", list, "-t", (seconds + 1).ToString(CultureInfo.InvariantCulture), "-ac", "1", "-af", $"aresample=24000,atrim=end_sample={seconds * 24_000}", "-c:a", "flac", Path.Combine(media, name)])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0 ? name : throw new InvalidOperationException($"ffmpeg could not make the {seconds} s track: {error}");
    }
}
