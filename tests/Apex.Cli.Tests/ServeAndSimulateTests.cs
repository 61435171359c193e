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
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "apex.dll"), "serve", "--urls", $"http://127.0.0.1:{port}", $"--Apex:DataDir={_data}", $"--Apex:MediaRoot={Apex.Samples}", "--Logging:LogLevel:Default=Warning" })
        {
            start.ArgumentList.Add(a);
        }

        using var host = Process.Start(start)!;
        host.OutputDataReceived += (_, _) => { };
        host.ErrorDataReceived += (_, _) => { };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            for (var i = 0; i < 120 && !await HealthyAsync(http, port); i++)
            {
                await Task.Delay(500);
            }

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
