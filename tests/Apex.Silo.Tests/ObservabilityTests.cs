using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Apex.Silo.Tests;

/// <summary>
/// The metrics as operators see them: a host under traffic is scraped, the scrape is linted by
/// promtool, a real Prometheus server scrapes the host and evaluates every dashboard panel's query,
/// and every metric a panel names is in the scrape. The dashboards are checked against Grafana's
/// dashboard model (Grafana itself cannot be installed here).
/// </summary>
public sealed partial class ObservabilityTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-observability-").FullName;
    private SiloProcess _silo = null!;

    private HttpClient Http => _silo.Http;

    public async Task InitializeAsync()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "samples"), "*.ogg"))
        {
            File.Copy(file, Path.Combine(_data, Path.GetFileName(file)));
        }

        // Registration probes the audio, so a track that fails at scoring needs a file that probes well and
        // does not decode: a WAV whose header declares 10 s and holds 1 s.
        await File.WriteAllBytesAsync(Path.Combine(_data, "broken.wav"), TruncatedWav(declaredSeconds: 10, heldSeconds: 1));
        _silo = await SiloProcess.StartAsync(_data, _data, "--Apex:CalibrationSeconds=1", $"--Apex:ModelsDir={await SiloProcess.ModelsAsync()}");
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static byte[] TruncatedWav(int declaredSeconds, int heldSeconds)
    {
        const int rate = 24_000;
        var held = new byte[rate * 2 * heldSeconds];
        for (var i = 0; i < held.Length / 2; i++)
        {
            BitConverter.TryWriteBytes(held.AsSpan(i * 2), (short)(8000 * Math.Sin(i * 2 * Math.PI * 440 / rate)));
        }

        using var wav = new MemoryStream();
        using var writer = new BinaryWriter(wav);
        var declared = rate * 2 * declaredSeconds;
        writer.Write("RIFF"u8);
        writer.Write(36 + declared);
        writer.Write("WAVEfmt "u8);
        writer.Write(16);
        writer.Write((short)1);
        writer.Write((short)1);
        writer.Write(rate);
        writer.Write(rate * 2);
        writer.Write((short)2);
        writer.Write((short)16);
        writer.Write("data"u8);
        writer.Write(declared);
        writer.Write(held);
        writer.Flush();
        return wav.ToArray();
    }

    private static IEnumerable<(string Dashboard, JsonElement Panel)> Panels() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "dashboards"), "*.json")
            .SelectMany(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.GetProperty("panels").EnumerateArray().Select(p => (Path.GetFileName(f), p)));

    [GeneratedRegex(@"\b(?:apex|http|orleans|dotnet)_[a-z0-9_]+")]
    private static partial Regex MetricName();

    private async Task DriveTrafficAsync()
    {
        var songs = Directory.GetFiles(_data, "*.ogg").Select(Path.GetFileName).Order().ToList();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json($$"""{"track_id":"m{{i}}","platform":"suno","created_at":"2026-10-0{{i + 1}}T00:00:00Z","audio_path":"{{songs[i]}}"}"""))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(new Uri("/events", UriKind.Relative), Json($$"""{"events":[{"event_id":"e{{i}}","track_id":"m{{i}}","kind":"stream","count":{{(i + 1) * 10}}},{"event_id":"l{{i}}","track_id":"m{{i}}","kind":"like","count":{{i + 1}}}]}"""))).StatusCode);
        }

        // A catalogue track: the backfill's gauges and the backfill side of the throughput by priority.
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(new Uri("/tracks/batch", UriKind.Relative), Json($$"""{"tracks":[{"track_id":"bulk-0","platform":"suno","created_at":"2026-09-01T00:00:00Z","audio_path":"{{songs[0]}}","streams":5}]}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json("""{"track_id":"broken","platform":"suno","created_at":"2026-10-01T00:00:00Z","audio_path":"broken.wav"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(new Uri("/battles", UriKind.Relative), Json("""{"battles":[{"battle_id":"b1","model_a":"x","model_b":"y","winner":"model_a"},{"battle_id":"b2","model_a":"x","model_b":"y","winner":"tie"}]}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri("/leaderboards/overall", UriKind.Relative))).StatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        foreach (var id in new[] { "m0", "m1", "m2", "broken", "bulk-0" })
        {
            while (JsonDocument.Parse(await Http.GetStringAsync(new Uri($"/tracks/{id}", UriKind.Relative))).RootElement.GetProperty("scoring").GetProperty("status").GetString() == "queued")
            {
                Assert.True(DateTime.UtcNow < deadline, $"{id} was not scored");
                await Task.Delay(250);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // the calibration gauges read the population every second here
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string arguments, string? stdin = null)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    [Fact]
    public async Task Every_panel_query_evaluates_in_a_real_prometheus_and_names_only_scraped_metrics()
    {
        await DriveTrafficAsync();
        var scrape = await new HttpClient { BaseAddress = Http.BaseAddress }.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        // promtool: exit 0 (clean) or 3 (lint findings); our own metrics must have no findings. The
        // findings it reports for Orleans' and .NET's own meters (milliseconds units, help texts) are theirs.
        var (lintExit, lint) = await RunAsync("promtool", "check metrics", scrape);
        Assert.True(lintExit is 0 or 3, lint);
        Assert.DoesNotContain(lint.Split('\n'), l => l.StartsWith("apex_", StringComparison.Ordinal));

        var folder = Directory.CreateTempSubdirectory("apex-prometheus-").FullName;
        var port = SiloProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(folder, "prometheus.yml"), $$"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: apex
                static_configs:
                  - targets: ["{{Http.BaseAddress!.Authority}}"]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo("prometheus",
            $"--config.file={folder}/prometheus.yml --storage.tsdb.path={folder}/data --web.listen-address=127.0.0.1:{port}")
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        prometheus.ErrorDataReceived += (_, _) => { };
        prometheus.OutputDataReceived += (_, _) => { };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            async Task<JsonElement> QueryAsync(string expr) =>
                JsonDocument.Parse(await api.GetStringAsync(new Uri("/api/v1/query?query=" + Uri.EscapeDataString(expr), UriKind.Relative))).RootElement;

            // Up, and a few seconds of samples so that rate() over a window has two points.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try
                {
                    var up = await QueryAsync("""up{job="apex"}""");
                    if (up.GetProperty("data").GetProperty("result").GetArrayLength() == 1 && up.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString() == "1")
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }

                Assert.True(DateTime.UtcNow < deadline, "Prometheus never scraped the host");
                await Task.Delay(500);
            }

            await Http.PostAsync(new Uri("/events", UriKind.Relative), Json("""{"events":[{"event_id":"late","track_id":"m0","kind":"stream"}]}"""));
            await Task.Delay(TimeSpan.FromSeconds(5));

            var queries = Panels().SelectMany(p => p.Panel.TryGetProperty("targets", out var t) ? t.EnumerateArray().Select(x => (p.Dashboard, Title: p.Panel.GetProperty("title").GetString(), Expr: x.GetProperty("expr").GetString()!)) : []).ToList();
            Assert.True(queries.Count >= 25, $"{queries.Count} panel queries");
            foreach (var (dashboard, title, expr) in queries)
            {
                var result = await QueryAsync(expr);
                Assert.True(result.GetProperty("status").GetString() == "success", $"{dashboard} / {title}: {expr}: {result}");
                // Label names (in by-clauses and selectors) are not metrics.
                var metricsOnly = Regex.Replace(Regex.Replace(expr, @"by \([^)]*\)", ""), @"\{[^}]*\}", "");
                foreach (Match name in MetricName().Matches(metricsOnly))
                {
                    var metric = name.Value;
                    Assert.True(Regex.IsMatch(scrape, $"^{Regex.Escape(metric)}[{{ ]", RegexOptions.Multiline), $"{dashboard} / {title}: {metric} is not in the scrape");
                }
            }

            // The series that matter most carry data, not just a valid query.
            foreach (var expr in new[] { "apex_ingest_events_total", "apex_model_serving", "apex_calibration_pearson", "apex_embedding_decode_failures_total", "apex_arena_battles_total" })
            {
                Assert.True((await QueryAsync(expr)).GetProperty("data").GetProperty("result").GetArrayLength() > 0, $"{expr} has no series in Prometheus");
            }
        }
        finally
        {
            prometheus.Kill();
            await prometheus.WaitForExitAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Dashboards_follow_grafanas_dashboard_model()
    {
        string[] panelTypes = ["timeseries", "stat", "table", "barchart", "text", "gauge", "bargauge", "heatmap"];
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "dashboards"), "*.json");
        Assert.Equal(4, files.Length);
        foreach (var file in files)
        {
            var d = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            Assert.False(string.IsNullOrWhiteSpace(d.GetProperty("title").GetString()));
            Assert.Matches("^[a-zA-Z0-9_-]{1,40}$", d.GetProperty("uid").GetString());
            Assert.True(d.GetProperty("schemaVersion").GetInt32() >= 36);
            Assert.Equal("datasource", d.GetProperty("templating").GetProperty("list")[0].GetProperty("type").GetString());
            var panels = d.GetProperty("panels").EnumerateArray().ToList();
            Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
            foreach (var p in panels)
            {
                Assert.Contains(p.GetProperty("type").GetString(), panelTypes);
                var grid = p.GetProperty("gridPos");
                Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
                Assert.True(grid.GetProperty("h").GetInt32() > 0 && grid.GetProperty("y").GetInt32() >= 0);
                if (p.GetProperty("type").GetString() != "text")
                {
                    var targets = p.GetProperty("targets").EnumerateArray().ToList();
                    Assert.NotEmpty(targets);
                    Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString())));
                    Assert.Equal(targets.Count, targets.Select(t => t.GetProperty("refId").GetString()).Distinct().Count());
                }
            }
        }
    }
}
