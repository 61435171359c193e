using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Apex.Silo.Tests;

/// <summary>
/// A full disk under the local profile's data folder (a small tmpfs the test mounts; this needs root,
/// which CI has, and is reported in the output otherwise): writes answer 503 with Retry-After and are
/// not acknowledged, readiness fails while liveness holds, the store stays intact, and the host
/// recovers by itself when space returns, counting the re-sent batch exactly once.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _mount = Directory.CreateTempSubdirectory("apex-diskfull-").FullName;
    private bool _mounted;

    private string Data => Path.Combine(_mount, "data");

    private string Filler => Path.Combine(_mount, "filler");

    public async Task InitializeAsync()
    {
        _mounted = await RunAsync("mount", $"-t tmpfs -o size=24m tmpfs {_mount}") == 0;
        if (_mounted)
        {
            Directory.CreateDirectory(Data);
        }
    }

    public async Task DisposeAsync()
    {
        if (_mounted)
        {
            await RunAsync("umount", $"-l {_mount}");
        }

        Directory.Delete(_mount, recursive: true);
    }

    private static async Task<int> RunAsync(string program, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Batch(string prefix, int count) =>
        "{\"events\":[" + string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"event_id":"{{prefix}}-{{i}}-{{new string('x', 150)}}","track_id":"d1","kind":"stream","count":1}""")) + "]}";

    /// <summary>Fills the file system but for <paramref name="leave"/> bytes.</summary>
    private void Fill(long leave)
    {
        var free = new DriveInfo(_mount).AvailableFreeSpace;
        using var filler = new FileStream(Filler, FileMode.Create);
        var chunk = new byte[1 << 16];
        for (var left = free - leave; left > 0; left -= chunk.Length)
        {
            try
            {
                filler.Write(chunk, 0, (int)Math.Min(chunk.Length, left));
            }
            catch (IOException)
            {
                break;
            }
        }
    }

    [Fact]
    public async Task A_full_disk_answers_503_acknowledges_nothing_and_recovers_when_space_returns()
    {
        if (!_mounted)
        {
            output.WriteLine("Not run: mounting a tmpfs needs root (CI has it); nothing was checked here.");
            return;
        }

        await using var silo = await SiloProcess.StartAsync(Data, Path.Combine(AppContext.BaseDirectory, "samples"), "--Apex:MinFreeDiskBytes=2000000");
        Assert.Equal(HttpStatusCode.Created, (await silo.Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json("""{"track_id":"d1","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"macleod-vibe-ace.ogg"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(Batch("warm", 10)))).StatusCode);

        Fill(leave: 64 * 1024);
        var refused = await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(Batch("full", 3000)));
        var ready = await silo.Http.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var live = await silo.Http.GetAsync(new Uri("/health/live", UriKind.Relative));
        output.WriteLine($"full: POST /events {(int)refused.StatusCode}, ready {(int)ready.StatusCode}, live {(int)live.StatusCode}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        File.Delete(Filler);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await silo.Http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "readiness did not recover after space returned");
            await Task.Delay(250);
        }

        var resent = JsonDocument.Parse(await (await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(Batch("full", 3000)))).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(3000, resent.GetProperty("accepted").GetInt32());
        var track = JsonDocument.Parse(await silo.Http.GetStringAsync(new Uri("/tracks/d1", UriKind.Relative))).RootElement;
        Assert.Equal(3010, track.GetProperty("streams").GetInt64());
        Assert.Equal(0, await silo.StopAsync());

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Data, "ingest.db")};Pooling=False");
        await connection.OpenAsync();
        await using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", (string?)await check.ExecuteScalarAsync());
    }
}
