using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Apex.Cli.Tests;

/// <summary><c>apex serve</c> in its own process on a free loopback port, as an operator starts it.</summary>
internal sealed class ServeHost : IAsyncDisposable
{
    private readonly Process _process;

    private ServeHost(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public bool HasExited => _process.HasExited;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the host with these settings (after --urls) and waits until it answers /health.</summary>
    public static async Task<ServeHost> StartAsync(int port, IEnumerable<string> settings, string? adminKey = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "apex.dll"), "serve", "--urls", $"http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning" }.Concat(settings))
        {
            start.ArgumentList.Add(argument);
        }

        if (adminKey is not null)
        {
            start.Environment["APEX_BOOTSTRAP_ADMIN_KEY"] = adminKey;
        }

        var host = new ServeHost(Process.Start(start)!, port);
        host._process.OutputDataReceived += (_, _) => { };
        host._process.ErrorDataReceived += (_, _) => { };
        host._process.BeginOutputReadLine();
        host._process.BeginErrorReadLine();
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await HealthyAsync(http, port))
        {
            if (host.HasExited || DateTime.UtcNow > deadline)
            {
                var exit = host.HasExited ? $"exited with {host._process.ExitCode}" : "did not answer /health within 90 s";
                await host.DisposeAsync();
                throw new InvalidOperationException($"apex serve {exit}");
            }

            await Task.Delay(250);
        }

        return host;
    }

    /// <summary>Kills the host at once (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
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
