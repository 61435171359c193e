using System.Net;
using System.Text.Json;

namespace Apex.Cli.Tests;

public sealed class ServeScoringTests : IDisposable
{
    private const string Admin = "serve-test-admin-key-0123456789";
    private readonly string _data = Directory.CreateTempSubdirectory("apex-serve-scoring-").FullName;

    public void Dispose()
    {
        Directory.Delete(_data, recursive: true);
        File.Delete(Path.Combine(Path.GetDirectoryName(_data)!, Path.GetFileName(_data) + "-encoder-16k.onnx"));
    }

    /// <summary>
    /// The bundled tiny encoder declaring 16 kHz instead of 24 kHz: the same graph, with its
    /// <c>apex.sample_rate</c> metadata value patched in place (the same number of bytes).
    /// </summary>
    private string SixteenKilohertzEncoder()
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx"));
        var key = "apex.sample_rate"u8;
        var at = bytes.AsSpan().IndexOf(key) + key.Length;
        var value = bytes.AsSpan(at).IndexOf("24000"u8);
        Assert.InRange(value, 0, 4); // the value's field follows its key's in the same metadata entry
        "16000"u8.CopyTo(bytes.AsSpan(at + value));
        var path = Path.Combine(_data, "..", Path.GetFileName(_data) + "-encoder-16k.onnx");
        File.WriteAllBytes(path, bytes);
        return Path.GetFullPath(path);
    }

    [Fact]
    public async Task A_registered_track_is_scored_by_the_synthetic_demo_head_exactly_as_apex_score_scores_it()
    {
        // The local profile as run.sh starts it: no model yet, so the host trains and serves synthetic-demo.
        // Its encoder declares 16 kHz: the silo must decode at that rate, as apex score does.
        var encoder = SixteenKilohertzEncoder();
        await using var host = await ServeHost.StartAsync(ServeHost.FreePort(),
            [$"--Apex:DataDir={_data}", $"--Apex:MediaRoot={Apex.Samples}", $"--Apex:SiloPort={ServeHost.FreePort()}", $"--Apex:GatewayPort={ServeHost.FreePort()}", $"--Apex:Embedding:Encoder={encoder}"], Admin);
        var port = host.Port;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        http.DefaultRequestHeaders.Add("X-Api-Key", Admin);
        const string Song = "macleod-vibe-ace.ogg";
        var registered = await http.PostAsync(new Uri("/tracks", UriKind.Relative), new StringContent($$"""{"track_id":"vibe","platform":"suno","created_at":"2026-11-20T00:00:00Z","audio_path":"{{Song}}"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        JsonElement scoring = default;
        for (var i = 0; i < 240; i++)
        {
            scoring = JsonDocument.Parse(await http.GetStringAsync(new Uri("/tracks/vibe", UriKind.Relative))).RootElement.GetProperty("scoring");
            if (scoring.GetProperty("status").GetString() != "queued")
            {
                break;
            }

            await Task.Delay(500);
        }

        Assert.Equal("scored", scoring.GetProperty("status").GetString());
        Assert.Equal("synthetic-demo", scoring.GetProperty("model_label").GetString());
        var version = scoring.GetProperty("model_version").GetString()!;

        var (exit, stdout, stderr) = await Apex.RunAsync("score", "--model", Path.Combine(_data, "models", version), "--encoder", encoder, "--format", "json", Apex.Sample(Song));

        Assert.True(exit == 0, stderr);
        var offline = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(version, offline.GetProperty("model").GetString());
        var expected = offline.GetProperty("scores").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var served = scoring.GetProperty("predicted").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(expected.Keys.Order(), served.Keys.Order());
        Assert.All(expected, e => Assert.Equal(e.Value, served[e.Key], tolerance: 1e-3));

        // A mature track with streams: it enters the calibration, not the emerging list.
        var old = await http.PostAsync(new Uri("/tracks", UriKind.Relative), new StringContent("""{"track_id":"old","platform":"suno","created_at":"2026-09-01T00:00:00Z","audio_path":"brahms-hungarian-dance-5.ogg"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, old.StatusCode);
        var events = await http.PostAsync(new Uri("/events", UriKind.Relative), new StringContent("""{"events":[{"event_id":"1","track_id":"old","kind":"stream","count":5}]}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        // A generous wait: on a busy CI machine (two test projects at once) embedding a 46 s recording takes minutes.
        var (reportExit, reportJson, reportError) = await Apex.RunAsync("report", "--url", $"http://127.0.0.1:{port}", "--key", Admin, "--platform", "suno", "--wait", "240", "--format", "json");

        Assert.True(reportExit == 0, reportError);
        var report = JsonDocument.Parse(reportJson).RootElement;
        var calibration = report.GetProperty("calibration");
        Assert.Equal(1, calibration.GetProperty("mature_scored_tracks").GetInt32());
        Assert.Equal(1, calibration.GetProperty("streams").GetProperty("tracks").GetInt32());
        Assert.Equal([version], calibration.GetProperty("model_versions").EnumerateArray().Select(v => v.GetString()));
        var emerging = report.GetProperty("emerging").GetProperty("tracks").EnumerateArray().ToList();
        Assert.Equal(["vibe"], emerging.Select(e => e.GetProperty("track_id").GetString()));
        // The same prediction, as a float in one answer and a double in the other: equal within float precision.
        Assert.Equal(served["streams"], emerging[0].GetProperty("predicted_streams").GetDouble(), tolerance: 1e-3);
    }
}
