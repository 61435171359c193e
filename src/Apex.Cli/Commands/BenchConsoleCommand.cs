using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench console</c>: how long the web console's pages take to render, with a platform of
/// --tracks scored tracks, against a host in this process. The tracks, their counts and their
/// predictions are written to the host's stores before it starts (scoring ten thousand recordings
/// would take hours and time nothing of the console). Each page is fetched signed in, in a row; the
/// JSON answer the overview is built from is timed beside it as the run's own reference.
/// </summary>
internal static partial class BenchConsoleCommand
{
    private const string Platform = "bench";

    public static Command Create()
    {
        var tracks = new Option<int>("--tracks") { DefaultValueFactory = _ => 10_000 };
        var requests = new Option<int>("--requests") { Description = "Timed requests per page (after 5 warm-up ones).", DefaultValueFactory = _ => 100 };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var command = new Command("console", "Time the web console's pages with a platform of --tracks scored tracks.") { tracks, requests, output };
        command.SetAction(async (result, cancellationToken) =>
            await BenchReport.RunAsync("console", result.GetValue(output), temp => RunAsync(temp, result.GetValue(tracks), result.GetValue(requests), cancellationToken), cancellationToken));
        return command;
    }

    private static async Task<string> RunAsync(string temp, int tracks, int requests, CancellationToken cancellationToken)
    {
        var port = LoopbackPorts.Free();
        var host = await ApexSiloHost.BuildAsync(["--urls", $"http://127.0.0.1:{port}", $"--Apex:DataDir={temp}/data", $"--Apex:MediaRoot={BundledAssets.Samples}",
            "--Logging:LogLevel:Default=Warning", "--Apex:RequestsPerSecondPerKey=1000000", "--Apex:BurstPerKey=1000000", "--Apex:SyntheticDemo=false",
            $"--Apex:SiloPort={LoopbackPorts.Free()}", $"--Apex:GatewayPort={LoopbackPorts.Free()}"]);
        try
        {
            await SeedAsync(host.Services, tracks, cancellationToken);
            await host.StartAsync(cancellationToken);
            var key = (await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync(Roles.Admin, "apex bench console", null, cancellationToken)).Key;
            var address = new Uri($"http://127.0.0.1:{port}");
            using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = true }) { BaseAddress = address };
            await SignInAsync(browser, key, cancellationToken);
            using var api = new HttpClient { BaseAddress = address };
            api.DefaultRequestHeaders.Add("X-Api-Key", key);

            (string Name, HttpClient Client, string Path)[] pages =
            [
                ("JSON reference: GET /platforms/bench/calibration", api, $"/platforms/{Platform}/calibration"),
                ("overview", browser, $"/console?platform={Platform}"),
                ("emerging hits (200 rows)", browser, $"/console/emerging?platform={Platform}&days=14"),
                ("emerging hits sorted by streams", browser, $"/console/emerging?platform={Platform}&days=14&sort=streams&dir=desc"),
                ("arena", browser, "/console/arena"),
                ("models and training", browser, "/console/models"),
            ];
            var rows = new List<(string Name, double P50, double P95, long Bytes)>();
            foreach (var (name, client, path) in pages)
            {
                var (p50, p95, bytes) = await TimeAsync(client, path, requests, cancellationToken);
                rows.Add((name, p50, p95, bytes));
                CliConsole.Note($"{name}: p50 {p50:0.0} ms, p95 {p95:0.0} ms");
            }

            var inv = CultureInfo.InvariantCulture;
            var reference = rows[0].P95;
            var md = new StringBuilder();
            md.AppendLine(inv, $"### apex bench console: {tracks:N0} scored tracks on one platform, {requests} requests per page, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            md.AppendLine();
            md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores. Host in this process (local profile, SQLite), pages fetched one after another, signed in; the predictions and counts were written to the stores before the host started. Goal: every console page under 150 ms at p95.");
            md.AppendLine();
            md.AppendLine("| page | p50 (ms) | p95 (ms) | p95 vs the JSON reference | size | goal |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var (name, p50, p95, bytes) in rows)
            {
                var goal = name.StartsWith("JSON", StringComparison.Ordinal) ? "reference" : p95 < 150 ? "met" : "missed";
                md.AppendLine(inv, $"| {name} | {p50:0.0} | {p95:0.0} | {p95 / reference:0.0}× | {bytes / 1024.0:0} KiB | {goal} |");
            }

            md.AppendLine();
            md.AppendLine(inv, $"Command: `apex bench console --tracks {tracks} --requests {requests}`");
            md.AppendLine();
            return md.ToString();
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            await host.DisposeAsync();
            SqliteConnection.ClearAllPools();
        }
    }

    /// <summary>Tracks (four in five mature), their counts and their predictions, written to the stores as the cluster would have.</summary>
    private static async Task SeedAsync(IServiceProvider services, int tracks, CancellationToken cancellationToken)
    {
        var log = services.GetRequiredService<IIngestLog>();
        var scores = services.GetRequiredService<IScoreStore>();
        var now = DateTimeOffset.UtcNow;
        var random = new Random(7);
        var clock = Stopwatch.StartNew();
        var events = new List<EngagementEvent>();
        for (var i = 0; i < tracks; i++)
        {
            var id = $"bench-{i:D6}";
            var created = i % 5 == 0 ? now.AddDays(-random.Next(1, 14)) : now.AddDays(-random.Next(15, 400));
            await log.RegisterTrackAsync(id, Platform, created, cancellationToken);
            // Heavy-tailed counts, as real catalogues have; the prediction follows them loosely.
            var streams = (long)Math.Ceiling(Math.Exp(random.NextDouble() * 12));
            events.Add(new EngagementEvent($"s-{id}", id, EventKind.Stream, Math.Min(streams, 1_000_000), now.AddMinutes(-1)));
            events.Add(new EngagementEvent($"l-{id}", id, EventKind.Like, Math.Max(1, Math.Min(streams / 20, 1_000_000)), now.AddMinutes(-1)));
            var signal = Math.Log(streams) / 12 * 100;
            await scores.SavePredictionAsync(Platform, new TrackPrediction(id, created, "bench-model", null,
                Math.Clamp(signal + (random.NextDouble() * 30) - 15, 0, 100), Math.Clamp(signal + (random.NextDouble() * 30) - 15, 0, 100)), cancellationToken);
            if (events.Count >= 1_000)
            {
                await log.AppendAsync(events, cancellationToken);
                events.Clear();
            }
        }

        if (events.Count > 0)
        {
            await log.AppendAsync(events, cancellationToken);
        }

        CliConsole.Note($"seeded {tracks:N0} tracks with counts and predictions in {clock.Elapsed.TotalSeconds:0} s");
    }

    private static async Task SignInAsync(HttpClient browser, string key, CancellationToken cancellationToken)
    {
        var form = await browser.GetStringAsync(new Uri("/console/signin", UriKind.Relative), cancellationToken);
        var token = TokenPattern().Match(form).Groups[1].Value;
        using var body = new FormUrlEncodedContent(new Dictionary<string, string> { ["_handler"] = "signin", ["__RequestVerificationToken"] = token, ["Input.Key"] = key });
        var answer = await browser.PostAsync(new Uri("/console/signin", UriKind.Relative), body, cancellationToken);
        if (!answer.IsSuccessStatusCode || answer.RequestMessage?.RequestUri?.AbsolutePath != "/console")
        {
            throw new InvalidOperationException($"Signing in to the console failed: {(int)answer.StatusCode} at {answer.RequestMessage?.RequestUri}.");
        }
    }

    private static async Task<(double P50, double P95, long Bytes)> TimeAsync(HttpClient client, string path, int requests, CancellationToken cancellationToken)
    {
        var uri = new Uri(path, UriKind.Relative);
        long bytes = 0;
        for (var i = 0; i < 5; i++)
        {
            using var warm = await client.GetAsync(uri, cancellationToken);
            // A page that answered by sending the client to sign in would time the wrong page.
            if (!warm.IsSuccessStatusCode || warm.RequestMessage?.RequestUri?.AbsolutePath != path.Split('?')[0])
            {
                throw new InvalidOperationException($"{path} answered {(int)warm.StatusCode} at {warm.RequestMessage?.RequestUri}.");
            }

            bytes = (await warm.Content.ReadAsByteArrayAsync(cancellationToken)).LongLength;
        }

        var times = new double[requests];
        for (var i = 0; i < requests; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await client.GetAsync(uri, cancellationToken);
            response.EnsureSuccessStatusCode();
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            times[i] = clock.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        return (times[(int)(0.5 * (requests - 1))], times[(int)Math.Ceiling(0.95 * (requests - 1))], bytes);
    }


    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
