using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Apex.Cli.Tests;

/// <summary><c>apex import</c> against a real host: the three formats, refused rows with their lines, and a resume after the client is killed.</summary>
public sealed class ImportCommandTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-import-").FullName;
    private readonly int _siloPort = ServeHost.FreePort(), _gatewayPort = ServeHost.FreePort();
    private ServeHost _host = null!;
    private string _key = "";

    private string[] Settings =>
    [
        $"--Apex:DataDir={_data}/host", $"--Apex:MediaRoot={Apex.Samples}", "--Apex:SyntheticDemo=false", $"--Apex:SiloPort={_siloPort}", $"--Apex:GatewayPort={_gatewayPort}",
        "--Apex:BurstPerKey=100000", "--Apex:RequestsPerSecondPerKey=100000",
    ];

    public async Task InitializeAsync()
    {
        var (exit, key, log) = await Apex.RunAsync("keys", "create", "--role", "admin", "--data-dir", $"{_data}/host");
        Assert.True(exit == 0, log);
        _key = key.Trim();
        _host = await ServeHost.StartAsync(ServeHost.FreePort(), Settings);
        // Scoring is not what these tests look at: the catalogue stays queued, so its size can be read.
        using var http = Client();
        (await http.PostAsync(new Uri("/backfill/pause", UriKind.Relative), null)).EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private HttpClient Client()
    {
        var http = new HttpClient { BaseAddress = new Uri(_host.Url) };
        http.DefaultRequestHeaders.Add("X-Api-Key", _key);
        return http;
    }

    private async Task<JsonElement> GetAsync(string path)
    {
        using var http = Client();
        return JsonDocument.Parse(await http.GetStringAsync(new Uri(path, UriKind.Relative))).RootElement;
    }

    private string PathOf(string name) => Path.Combine(_data, name);

    public sealed class ParquetRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("track_id")]
        public string? TrackId { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("platform")]
        public string? Platform { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("created_at")]
        public DateTime CreatedAt { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("audio_path")]
        public string? AudioPath { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("streams")]
        public long? Streams { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("instrumental")]
        public bool? Instrumental { get; set; }
    }

    [Fact]
    public async Task Csv_json_lines_and_parquet_import_alike_and_refused_rows_are_named_with_their_lines()
    {
        await File.WriteAllTextAsync(PathOf("catalogue.csv"), """
            track_id,platform,created_at,audio_path,streams,likes,instrumental,title
            csv-1,suno,2025-03-01T00:00:00Z,macleod-vibe-ace.ogg,1200,30,true,First
            csv-2,suno,2025-03-02,macleod-vibe-ace.ogg,5,1,false,No offset
            csv-3,suno,2025-03-03T00:00:00Z,missing.ogg,5,1,false,No file
            csv-4,suno,2025-03-04T00:00:00Z,macleod-vibe-ace.ogg,lots,1,false,Not a count
            """);
        await File.WriteAllTextAsync(PathOf("catalogue.jsonl"), """
            {"track_id":"jsonl-1","platform":"suno","created_at":"2025-03-01T00:00:00Z","audio":"macleod-vibe-ace.ogg","streams":700,"likes":2}
            {"track_id":"jsonl-2","platform":"suno","created_at":"2025-03-01T00:00:00Z","audio_path":"macleod-vibe-ace.ogg","system":{"nested":true}}
            not json
            """);
        await using (var parquet = File.Create(PathOf("catalogue.parquet")))
        {
            await Parquet.Serialization.ParquetSerializer.SerializeAsync(new[]
            {
                new ParquetRow { TrackId = "pq-1", Platform = "suno", CreatedAt = new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc), AudioPath = "macleod-vibe-ace.ogg", Streams = 99, Instrumental = true },
                new ParquetRow { TrackId = "pq/2", Platform = "suno", CreatedAt = new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc), AudioPath = "macleod-vibe-ace.ogg" },
            }, parquet);
        }

        var (csvExit, _, csvLog) = await Apex.RunAsync("import", PathOf("catalogue.csv"), "--url", _host.Url, "--key", _key, "--rejected", PathOf("rejected.csv"));
        Assert.True(csvExit == 1, csvLog);
        Assert.Contains("created 1, same 0, conflict 0, rejected 3", csvLog, StringComparison.Ordinal);
        Assert.Contains("columns left out (not fields of a track): title", csvLog, StringComparison.Ordinal);
        var rejected = (await File.ReadAllLinesAsync(PathOf("rejected.csv"))).Skip(1).ToList();
        Assert.Equal(3, rejected.Count);
        Assert.Matches("^3,csv-2,rejected,\"?created_at:", rejected[0]);
        Assert.Matches("^4,csv-3,rejected,\"?audio_path:", rejected[1]);
        Assert.Matches("^5,csv-4,rejected,\"?streams:", rejected[2]);
        var csv1 = await GetAsync("/tracks/csv-1");
        Assert.Equal((1200L, 30L, true), (csv1.GetProperty("streams").GetInt64(), csv1.GetProperty("likes").GetInt64(), csv1.GetProperty("instrumental").GetBoolean()));

        var (jsonExit, _, jsonLog) = await Apex.RunAsync("import", PathOf("catalogue.jsonl"), "--url", _host.Url, "--key", _key);
        Assert.True(jsonExit == 1, jsonLog);
        Assert.Contains("created 1, same 0, conflict 0, rejected 2", jsonLog, StringComparison.Ordinal);
        Assert.Equal(700L, (await GetAsync("/tracks/jsonl-1")).GetProperty("streams").GetInt64());

        var (parquetExit, _, parquetLog) = await Apex.RunAsync("import", PathOf("catalogue.parquet"), "--url", _host.Url, "--key", _key);
        Assert.True(parquetExit == 1, parquetLog);
        Assert.Contains("created 1, same 0, conflict 0, rejected 1", parquetLog, StringComparison.Ordinal);
        var pq1 = await GetAsync("/tracks/pq-1");
        Assert.Equal((99L, "2025-03-01T00:00:00+00:00"), (pq1.GetProperty("streams").GetInt64(), pq1.GetProperty("created_at").GetString()));

        // Imported again: every track is the same, nothing counted twice, and a clean file exits 0.
        await File.WriteAllLinesAsync(PathOf("clean.csv"), (await File.ReadAllLinesAsync(PathOf("catalogue.csv"))).Take(2));
        var (againExit, _, againLog) = await Apex.RunAsync("import", PathOf("clean.csv"), "--url", _host.Url, "--key", _key);
        Assert.True(againExit == 0, againLog);
        Assert.Contains("created 0, same 1", againLog, StringComparison.Ordinal);
        Assert.Equal(1200L, (await GetAsync("/tracks/csv-1")).GetProperty("streams").GetInt64());
    }

    [Fact]
    public async Task An_import_killed_midway_resumes_from_its_progress_file_and_registers_every_track_once()
    {
        const int rows = 60_000;
        var csv = new StringBuilder("track_id,platform,created_at,audio_path,streams\n");
        for (var i = 0; i < rows; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"big-{i},big,2025-01-01T00:00:00Z,macleod-vibe-ace.ogg,{i + 1}\n");
        }

        await File.WriteAllTextAsync(PathOf("big.csv"), csv.ToString());
        string[] import = ["import", PathOf("big.csv"), "--url", _host.Url, "--key", _key, "--batch", "1000", "--concurrency", "1", "--progress", PathOf("progress.txt")];

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "apex.dll"));
        foreach (var argument in import)
        {
            start.ArgumentList.Add(argument);
        }

        using (var first = Process.Start(start)!)
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(PathOf("progress.txt")) || (await ReadSharedAsync(PathOf("progress.txt"))).Count(c => c == '\n') < 5)
            {
                Assert.False(first.HasExited, "the import ended before it could be killed: make the file larger");
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "no batch was acknowledged");
                await Task.Delay(20);
            }

            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }

        var acknowledged = (await File.ReadAllLinesAsync(PathOf("progress.txt"))).Length;
        Assert.InRange(acknowledged, 5, rows / 1000 - 1);
        var (exit, _, log) = await Apex.RunAsync([.. import, "--resume"]);
        Assert.True(exit == 0, log);
        Assert.Contains($"skipped {acknowledged * 1000:N0} acknowledged before", log, StringComparison.Ordinal);

        // Every row registered once, with its count: the paused backfill holds them all.
        var backfill = await GetAsync("/backfill");
        Assert.Equal(rows, backfill.GetProperty("queued").GetInt64());
        var top = (await GetAsync("/platforms/big/tracks?sort=streams&limit=1"))[0];
        Assert.Equal(($"big-{rows - 1}", (long)rows), (top.GetProperty("track_id").GetString(), top.GetProperty("streams").GetInt64()));
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
