using System.Diagnostics;

namespace Apex.Cli.Commands;

/// <summary>
/// The host under a benchmark, in its own process (<c>apex serve</c> on free loopback ports), so that
/// the load generator's work is not counted against the host's cores as if it were the host's.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private BenchHost(Process process, Uri address, string key)
    {
        _process = process;
        Address = address;
        Key = key;
    }

    public Uri Address { get; }

    /// <summary>The admin key the host was bootstrapped with.</summary>
    public string Key { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts <c>apex serve</c> with <paramref name="settings"/> and waits until it answers /health.</summary>
    /// <param name="settings">The host's settings (command-line form).</param>
    /// <param name="cancellationToken">Stops waiting for the host.</param>
    /// <param name="key">The admin key of a data folder a host made before (a restart); null: a new one.</param>
    public static async Task<BenchHost> StartAsync(IEnumerable<string> settings, CancellationToken cancellationToken, string? key = null)
    {
        var port = LoopbackPorts.Free();
        key ??= "bench-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(BenchHost).Assembly.Location);
        }

        foreach (var argument in (string[])["serve", "--urls", $"http://127.0.0.1:{port}", .. settings])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["APEX_BOOTSTRAP_ADMIN_KEY"] = key;
        var host = new BenchHost(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"), key);
        host._process.OutputDataReceived += (_, line) => host.Record(line.Data);
        host._process.ErrorDataReceived += (_, line) => host.Record(line.Data);
        host._process.BeginOutputReadLine();
        host._process.BeginErrorReadLine();
        try
        {
            await host.WaitUntilLiveAsync(cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>The host's peak resident memory so far, from /proc (Linux), in MiB; null where unknown.</summary>
    public double? PeakMemoryMiB()
    {
        var status = $"/proc/{_process.Id}/status";
        var line = File.Exists(status) ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) : null;
        return line is null ? null : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>The host's resident memory now, from /proc (Linux), in MiB; null where unknown.</summary>
    public double? MemoryMiB()
    {
        var status = $"/proc/{_process.Id}/status";
        var line = File.Exists(status) ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)) : null;
        return line is null ? null : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>The host's CPU time so far (user + system).</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    private async Task WaitUntilLiveAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with {_process.ExitCode}: {string.Join('\n', _output)}");
            }

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
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // a slow start-up answer
            }

            await Task.Delay(250, cancellationToken);
        }

        throw new TimeoutException("The host did not answer /health within 120 s.");
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // A graceful stop first (SIGTERM), so the host's own shutdown runs.
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
