using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Apex.Cli.Tests;

public sealed class ServeAndSimulateTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-serve-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task Simulated_traffic_with_duplicates_and_retries_is_counted_exactly_once()
    {
        var (exit, key, _) = await Apex.RunAsync("keys", "create", "--role", "ingest", "--data-dir", _data);
        Assert.Equal(0, exit);
        var port = FreePort();
        using var host = await StartHostAsync(port);
        try
        {
            var (simExit, _, log) = await Apex.RunAsync("simulate", "--url", $"http://127.0.0.1:{port}", "--key", key.Trim(), "--tracks", "50", "--events", "5000", "--batch", "200", "--duplicates", "0.1", "--retries", "0.2", "--seed", "7");

            Assert.True(simExit == 0, log);
            Assert.Contains("OK: the host's counts equal the simulator's for all", log, StringComparison.Ordinal);
            Assert.Contains("accepted 5000", log, StringComparison.Ordinal);
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
        }
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
        var port = FreePort();
        string[] simulate = ["simulate", "--url", $"http://127.0.0.1:{port}", "--key", key.Trim(), "--tracks", "30", "--events", "60000", "--batch", "100",
            "--duplicates", "0.05", "--retries", "0.1", "--seed", "11", "--concurrency", "4", "--attempts", "400"];
        var host = await StartHostAsync(port);
        try
        {
            var run = Apex.RunAsync(simulate);
            var kills = 0;
            for (; kills < 3 && !run.IsCompleted; kills++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1.5));
                host.Kill(entireProcessTree: true);
                await host.WaitForExitAsync();
                host.Dispose();
                host = await StartHostAsync(port);
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
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
            host.Dispose();
        }
    }

    private readonly int _siloPort = FreePort(), _gatewayPort = FreePort();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<Process> StartHostAsync(int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "apex.dll"), "serve", "--urls", $"http://127.0.0.1:{port}", $"--Apex:DataDir={_data}", $"--Apex:MediaRoot={Apex.Samples}",
            "--Apex:SyntheticDemo=false", $"--Apex:SiloPort={_siloPort}", $"--Apex:GatewayPort={_gatewayPort}", "--Apex:BurstPerKey=100000", "--Apex:RequestsPerSecondPerKey=100000", "--Logging:LogLevel:Default=Warning" })
        {
            start.ArgumentList.Add(a);
        }

        var host = Process.Start(start)!;
        host.OutputDataReceived += (_, _) => { };
        host.ErrorDataReceived += (_, _) => { };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        using var http = new HttpClient();
        for (var i = 0; i < 120 && !await HealthyAsync(http, port); i++)
        {
            Assert.False(host.HasExited, $"the host exited with {(host.HasExited ? host.ExitCode : 0)}");
            await Task.Delay(250);
        }

        return host;
    }

    private static async Task<bool> HealthyAsync(HttpClient http, int port)
    {
        try
        {
            return (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/health"))).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
