namespace Apex.Cli.Tests;

public sealed class ServeAndSimulateTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-serve-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task Simulated_traffic_with_duplicates_and_retries_is_counted_exactly_once_and_its_planted_breakouts_are_found()
    {
        var (exit, key, _) = await Apex.RunAsync("keys", "create", "--role", "ingest", "--data-dir", _data);
        Assert.Equal(0, exit);
        var port = ServeHost.FreePort();
        await using var host = await ServeHost.StartAsync(port, Settings);
        var (simExit, _, log) = await Apex.RunAsync("simulate", "--url", host.Url, "--key", key.Trim(), "--tracks", "50", "--events", "5000", "--batch", "200", "--duplicates", "0.1", "--retries", "0.2", "--seed", "7", "--breakouts", "2");

        Assert.True(simExit == 0, log);
        Assert.Contains("OK: the host's counts equal the simulator's for all 92 tracks", log, StringComparison.Ordinal);
        Assert.Contains("accepted 6512", log, StringComparison.Ordinal); // 5,000 and 36 hours of 42 young tracks
        Assert.Contains("breakout detected on suno: sim-7-rising-0,", log, StringComparison.Ordinal);
        Assert.Contains("breakout detected on suno: sim-7-rising-1,", log, StringComparison.Ordinal);
        Assert.Contains("2 planted breakout(s) found; 0 of the 40 steady young tracks flagged.", log, StringComparison.Ordinal);
        using var reader = new HttpClient { BaseAddress = new Uri(host.Url) };
        reader.DefaultRequestHeaders.Add("X-Api-Key", key.Trim());
        var rising = System.Text.Json.JsonDocument.Parse(await reader.GetStringAsync(new Uri("/tracks/sim-7-rising-0", UriKind.Relative))).RootElement.GetProperty("velocity");
        Assert.Equal(["cohort"], rising.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.True(rising.GetProperty("streams_per_hour").GetDouble() > 3 * rising.GetProperty("cohort_median").GetDouble(), rising.ToString());

        // Tracks come from the systems in turn, and each round of the systems shares one prompt (what arena pairs need).
        using var http = new HttpClient { BaseAddress = new Uri(host.Url) };
        http.DefaultRequestHeaders.Add("X-Api-Key", key.Trim());
        var tracks = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i =>
            System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri($"/tracks/sim-7-{i}", UriKind.Relative))).RootElement));
        Assert.Equal(["suno-v4", "udio-v1", "riffusion", "suno-v4"], tracks.Select(t => t.GetProperty("system").GetString()));
        Assert.Single(tracks.Take(3).Select(t => t.GetProperty("prompt").GetString()).Distinct());
        Assert.NotEqual(tracks[0].GetProperty("prompt").GetString(), tracks[3].GetProperty("prompt").GetString());
    }

    /// <summary>
    /// The local profile's crash campaign: the host is killed with SIGKILL three times while the simulator
    /// sends, and started again on the same data folder; the simulator retries through every outage and its
    /// exact final check holds (every acknowledged event counted once, nothing lost). Then a second run of
    /// the same seed re-sends everything: all duplicates, counts unchanged.
    /// </summary>
    [Fact]
    public async Task Repeated_kill_9_under_concurrent_ingest_loses_nothing_and_counts_nothing_twice()
    {
        var (exit, key, _) = await Apex.RunAsync("keys", "create", "--role", "ingest", "--data-dir", _data);
        Assert.Equal(0, exit);
        var port = ServeHost.FreePort();
        string[] simulate = ["simulate", "--url", $"http://127.0.0.1:{port}", "--key", key.Trim(), "--tracks", "30", "--events", "60000", "--batch", "100",
            "--duplicates", "0.05", "--retries", "0.1", "--seed", "11", "--concurrency", "4", "--attempts", "400"];
        var host = await ServeHost.StartAsync(port, Settings);
        try
        {
            var run = Apex.RunAsync(simulate);
            var kills = 0;
            for (; kills < 3 && !run.IsCompleted; kills++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1.5));
                await host.KillAsync();
                await host.DisposeAsync();
                host = await ServeHost.StartAsync(port, Settings);
            }

            var (simExit, _, log) = await run;
            Assert.True(simExit == 0, log);
            Assert.Contains("OK: the host's counts equal the simulator's for all", log, StringComparison.Ordinal);
            // The kills hit the run: the client saw errors and retried through them.
            Assert.Equal(3, kills);
            var retried = System.Text.RegularExpressions.Regex.Match(log, @"(\d+) requests retried after errors");
            Assert.True(retried.Success && int.Parse(retried.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, log);

            var (againExit, _, again) = await Apex.RunAsync(simulate);
            Assert.True(againExit == 0, again);
            Assert.Contains("accepted 0,", again, StringComparison.Ordinal);
            Assert.Contains("OK: the host's counts equal", again, StringComparison.Ordinal);
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    private readonly int _siloPort = ServeHost.FreePort(), _gatewayPort = ServeHost.FreePort();

    private string[] Settings =>
    [
        $"--Apex:DataDir={_data}", $"--Apex:MediaRoot={Apex.Samples}", "--Apex:SyntheticDemo=false", $"--Apex:SiloPort={_siloPort}", $"--Apex:GatewayPort={_gatewayPort}",
        "--Apex:BurstPerKey=100000", "--Apex:RequestsPerSecondPerKey=100000", "--Apex:Signals:Refresh=00:00:03",
    ];
}
