using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench catalogue</c>: onboarding a catalogue on one local silo, host in its own process.
/// In one run: tracks registered through POST /tracks/batch (with initial counts) beside the same number
/// of events through POST /events, their ratio; a whole catalogue file through <c>apex import</c> (its
/// wall time, the host's memory with the catalogue queued); and the time the catalogue's population takes
/// to come back after a restart. Scoring is excluded: the backfill is paused throughout.
/// </summary>
internal static class BenchCatalogueCommand
{
    public static Command Create()
    {
        var tracks = new Option<int>("--tracks") { Description = "Tracks (and events) in the rate comparison.", DefaultValueFactory = _ => 200_000 };
        var import = new Option<int>("--import") { Description = "Rows of the catalogue file imported whole (0: skip).", DefaultValueFactory = _ => 1_000_000 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 5_000 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 4 };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var command = new Command("catalogue", "Time bulk registration against event ingestion, a whole catalogue import, and the population's restart at that size.")
        {
            tracks, import, batch, concurrency, output,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var temp = Directory.CreateTempSubdirectory("apex-bench-catalogue-").FullName;
            List<string> settings = [$"--Apex:DataDir={temp}/data", $"--Apex:MediaRoot={BundledAssets.Samples}", "--Logging:LogLevel:Default=Warning", "--Apex:RequestsPerSecondPerKey=1000000", "--Apex:BurstPerKey=1000000",
                $"--Apex:SiloPort={LoopbackPorts.Free()}", $"--Apex:GatewayPort={LoopbackPorts.Free()}", "--Apex:SyntheticDemo=false"];
            var host = await BenchHost.StartAsync(settings, cancellationToken);
            try
            {
                var report = await RunAsync(host, settings, temp, result.GetValue(tracks), result.GetValue(import), result.GetValue(batch), result.GetValue(concurrency), cancellationToken);
                host = report.Host;
                Console.Write(report.Markdown);
                if (result.GetValue(output) is { } file)
                {
                    await File.AppendAllTextAsync(file, report.Markdown, cancellationToken);
                }

                return ExitCodes.Ok;
            }
            finally
            {
                await host.DisposeAsync();
                Directory.Delete(temp, recursive: true);
            }
        });
        return command;
    }

    private static async Task<(string Markdown, BenchHost Host)> RunAsync(BenchHost host, List<string> settings, string temp, int tracks, int importRows, int batch, int concurrency, CancellationToken cancellationToken)
    {
        using var http = Client(host);
        (await http.PostAsync(new Uri("/backfill/pause", UriKind.Relative), null, cancellationToken)).EnsureSuccessStatusCode();
        var audio = "sorohan-solo-trumpet-06.ogg";

        // The same number of items both ways, in batches of the same size, with the same senders.
        var registrations = Enumerable.Range(0, (tracks + batch - 1) / batch).Select(b => JsonSerializer.Serialize(new
        {
            tracks = Enumerable.Range(b * batch, Math.Min(batch, tracks - (b * batch))).Select(i => new { track_id = $"rate-{i}", platform = "rate", created_at = "2025-01-01T00:00:00Z", audio_path = audio, streams = i + 1, likes = (i % 100) + 1 }),
        })).ToList();
        var registered = await TimeAsync(http, "/tracks/batch", registrations, concurrency, cancellationToken);
        var bare = Enumerable.Range(0, (tracks + batch - 1) / batch).Select(b => JsonSerializer.Serialize(new
        {
            tracks = Enumerable.Range(b * batch, Math.Min(batch, tracks - (b * batch))).Select(i => new { track_id = $"bare-{i}", platform = "rate", created_at = "2025-01-01T00:00:00Z", audio_path = audio }),
        })).ToList();
        var registeredBare = await TimeAsync(http, "/tracks/batch", bare, concurrency, cancellationToken);
        // Events twice over the same tracks: the first pass meets each track for the first time since the
        // host started, the second finds them in memory. The faster is the reference (the stricter goal).
        List<string> Events(string round) => [.. Enumerable.Range(0, (tracks + batch - 1) / batch).Select(b => JsonSerializer.Serialize(new
        {
            events = Enumerable.Range(b * batch, Math.Min(batch, tracks - (b * batch))).Select(i => new { event_id = $"rate-ev-{round}-{i}", track_id = $"rate-{i}", kind = "stream", count = 1 }),
        }))];
        var ingestedCold = await TimeAsync(http, "/events", Events("a"), concurrency, cancellationToken);
        var ingestedWarm = await TimeAsync(http, "/events", Events("b"), concurrency, cancellationToken);
        var ingested = Math.Min(ingestedCold, ingestedWarm);
        CliConsole.Note($"POST /tracks/batch {tracks / registered:0} tracks/s, POST /events {tracks / ingested:0} events/s");

        string? importLine = null, memoryLine = null, restartLine = null;
        if (importRows > 0)
        {
            var file = Path.Combine(temp, "catalogue.csv");
            await using (var writer = new StreamWriter(file))
            {
                await writer.WriteLineAsync("track_id,platform,created_at,audio_path,streams,likes");
                for (var i = 0; i < importRows; i++)
                {
                    await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"cat-{i},catalogue,2025-{(i % 12) + 1:D2}-01T00:00:00Z,{audio},{(i * 7919L % 1_000_003) + 1},{(i % 997) + 1}"));
                }
            }

            var summary = await ImportCommand.RunAsync(new ImportCommand.Settings(host.Address, host.Key, file, "csv", batch, concurrency, 60, null, false, null), cancellationToken);
            importLine = string.Create(CultureInfo.InvariantCulture,
                $"`apex import` of a {importRows:N0}-row CSV ({new FileInfo(file).Length / 1e6:0} MB, with initial counts): **{summary.Seconds / 60:0.0} min** ({summary.Rows / summary.Seconds:0} rows/s), created {summary.Created:N0}, rejected {summary.Rejected:N0}.");
            var backfill = JsonDocument.Parse(await http.GetStringAsync(new Uri("/backfill", UriKind.Relative), cancellationToken)).RootElement;
            GC.Collect();
            memoryLine = string.Create(CultureInfo.InvariantCulture,
                $"With {backfill.GetProperty("queued").GetInt64():N0} catalogue tracks queued for the backfill, the host holds {host.MemoryMiB():0} MiB resident (peak {host.PeakMemoryMiB():0} MiB); queued tracks are rows in the ingest log, not grain activations.");

            // The population of a platform of that size, after a restart: its first percentile read loads it.
            await host.DisposeAsync();
            host = await BenchHost.StartAsync(settings, cancellationToken, host.Key);
            using var again = Client(host);
            var clock = Stopwatch.StartNew();
            var first = JsonDocument.Parse(await again.GetStringAsync(new Uri("/tracks/cat-0", UriKind.Relative), cancellationToken)).RootElement;
            var load = clock.Elapsed.TotalSeconds;
            clock.Restart();
            const int reads = 200;
            for (var i = 0; i < reads; i++)
            {
                (await again.GetAsync(new Uri($"/tracks/cat-{i * 4999 % importRows}", UriKind.Relative), cancellationToken)).EnsureSuccessStatusCode();
            }

            var read = clock.Elapsed.TotalMilliseconds / reads;
            restartLine = string.Create(CultureInfo.InvariantCulture,
                $"After a restart, the first read of a track on the {first.GetProperty("popularity").GetProperty("tracks_with_streams").GetInt64():N0}-track platform (its population loaded from the log) took **{load:0.00} s**; then a track read with its live percentiles took {read:0.0} ms on average over {reads} reads.");
        }

        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"### apex bench catalogue: {tracks:N0} tracks, batch {batch}, {concurrency} concurrent senders, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores; local profile (SQLite, synced commits), host in its own process; backfill paused (scoring excluded).");
        md.AppendLine();
        md.AppendLine("| path | items/s |");
        md.AppendLine("|---|---|");
        md.AppendLine(inv, $"| POST /tracks/batch, registrations alone | {tracks / registeredBare:0} |");
        md.AppendLine(inv, $"| POST /tracks/batch, registrations with initial streams and likes (two events each) | {tracks / registered:0} |");
        md.AppendLine(inv, $"| POST /events (one event per item), tracks not yet in the log's memory | {tracks / ingestedCold:0} |");
        md.AppendLine(inv, $"| POST /events (one event per item), the same tracks again | {tracks / ingestedWarm:0} |");
        md.AppendLine();
        md.AppendLine(inv, $"Against the faster event rate of this run, registrations reached **{ingested / registeredBare:0.00}×** alone and **{ingested / registered:0.00}×** with their initial counts (goal ≥ 0.5×).");
        md.AppendLine();
        foreach (var line in new[] { importLine, memoryLine, restartLine }.OfType<string>())
        {
            md.AppendLine(line);
            md.AppendLine();
        }

        md.AppendLine(inv, $"Command: `apex bench catalogue --tracks {tracks} --import {importRows} --batch {batch} --concurrency {concurrency}`");
        md.AppendLine();
        return (md.ToString(), host);
    }

    private static HttpClient Client(BenchHost host)
    {
        var http = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Add("X-Api-Key", host.Key);
        return http;
    }

    private static async Task<double> TimeAsync(HttpClient http, string path, IReadOnlyList<string> bodies, int concurrency, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bodies, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (body, ct) =>
            (await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"), ct)).EnsureSuccessStatusCode());
        return clock.Elapsed.TotalSeconds;
    }
}
