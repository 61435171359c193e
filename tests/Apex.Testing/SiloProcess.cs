using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Apex.Testing;

/// <summary>The real host in its own process on a free loopback port, as a platform would reach it.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;

    private SiloProcess(Process process, Uri address)
    {
        _process = process;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
    }

    /// <summary>The bootstrap admin key every test host starts with; <see cref="Http"/> sends it.</summary>
    public const string AdminKey = "test-admin-key-0123456789abcdef";

    public HttpClient Http { get; }

    /// <summary>A client with another key (or none).</summary>
    public HttpClient ClientWith(string? key)
    {
        var client = new HttpClient { BaseAddress = Http.BaseAddress, Timeout = Http.Timeout };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        return client;
    }

    public static async Task<SiloProcess> StartAsync(string dataDir, string mediaRoot, params string[] extra)
    {
        for (var attempt = 1; ; attempt++)
        {
            var silo = Launch(dataDir, mediaRoot, extra);
            try
            {
                await silo.WaitUntilLiveAsync();
                return silo;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // A free port picked here can be taken by another process before the host binds it: new ports.
                await silo.DisposeAsync();
            }
            catch
            {
                await silo.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Starts the host process and returns at once (it is not listening yet).</summary>
    public static SiloProcess Launch(string dataDir, string mediaRoot, params string[] extra)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        // Orleans' own ports are free ones too, so that hosts of several tests (or a cluster of them) coexist.
        string[] arguments =
        [
            Path.Combine(AppContext.BaseDirectory, "Apex.Silo.dll"), "--urls", $"http://127.0.0.1:{port}", $"--Apex:DataDir={dataDir}", $"--Apex:MediaRoot={mediaRoot}",
            $"--Apex:SiloPort={FreePort()}", $"--Apex:GatewayPort={FreePort()}", "--Logging:LogLevel:Default=Warning",
            // Tests that need a serving model say so; training the demo head in every host would only cost CPU.
            "--Apex:SyntheticDemo=false",
        ];
        foreach (var argument in arguments.Concat(extra))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["APEX_BOOTSTRAP_ADMIN_KEY"] = AdminKey;
        var process = Process.Start(start)!;
        var silo = new SiloProcess(process, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, line) => silo.Record(line.Data);
        process.ErrorDataReceived += (_, line) => silo.Record(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>Waits until the host answers /health (it listens only once its silo is active).</summary>
    public async Task WaitUntilLiveAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"The host exited with {_process.ExitCode}: {Output}");
            }

            try
            {
                if ((await Http.GetAsync(new Uri("/health", UriKind.Relative))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("The host did not answer /health within 90 s.");
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private void Record(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    /// <summary>Everything the host printed so far (stdout and stderr, interleaved as they arrived).</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Runs the host with settings it should refuse; returns its exit code and what it printed on stderr.</summary>
    public static async Task<(int ExitCode, string Error)> RunToExitAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Apex.Silo.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await error);
    }

    private static readonly Lazy<Task<string>> Models = new(async () =>
    {
        var folder = Directory.CreateTempSubdirectory("apex-silo-tests-models-").FullName;
        using var encoder = new Apex.Embedding.Encoding.OnnxAudioEncoder(Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx"));
        await new Apex.Scoring.ModelRegistry(folder).EnsureServingAsync(encoder.Info.LayerCount, encoder.Info.HiddenSize);
        return folder;
    });

    /// <summary>A model registry serving a synthetic-demo head for the bundled encoder, trained once per test run.</summary>
    public static Task<string> ModelsAsync() => Models.Value;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the host as an orchestrator does (SIGTERM) and waits for it to leave; returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the host at once, as a crash would.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
