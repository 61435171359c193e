using System.Globalization;
using System.Text.RegularExpressions;
using Apex.Testing;
using Npgsql;

namespace Apex.Cli.Tests;

/// <summary>
/// The cluster profile's crash campaign: two silos on PostgreSQL, the crash-safe simulator sending
/// through one of them with four concurrent senders; the other silo is killed with SIGKILL mid-ingest,
/// then PostgreSQL is stopped and started again mid-ingest. The client sees only retryable answers
/// (it gives up on anything else), and its exact final check holds; a rerun of the same seed re-sends
/// everything and changes nothing.
/// </summary>
public sealed partial class ClusterCrashCampaignTests(ThrowawayPostgres postgres) : IClassFixture<ThrowawayPostgres>, IDisposable
{
    private readonly List<string> _folders = [];
    private readonly string _clusterId = "crash" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _folders.ForEach(f => Directory.Delete(f, recursive: true));

    private string[] SiloSettings(string database)
    {
        var data = Directory.CreateTempSubdirectory("apex-crash-cluster-").FullName;
        _folders.Add(data);
        return
        [
            "--Apex:Profile=cluster", $"--Apex:Postgres={database}", $"--Apex:ClusterId={_clusterId}", "--Apex:AdvertisedAddress=127.0.0.1",
            $"--Apex:DataDir={data}", $"--Apex:MediaRoot={Apex.Samples}", "--Apex:SyntheticDemo=false",
            $"--Apex:SiloPort={ServeHost.FreePort()}", $"--Apex:GatewayPort={ServeHost.FreePort()}", "--Apex:BurstPerKey=100000", "--Apex:RequestsPerSecondPerKey=100000",
        ];
    }

    private async Task<int> ActiveSilosAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM OrleansMembershipTable WHERE DeploymentId = @c AND Status = 3", connection);
        command.Parameters.AddWithValue("c", _clusterId);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Killing_a_silo_and_restarting_the_database_under_resending_clients_loses_nothing_and_counts_nothing_twice()
    {
        var database = await postgres.CreateDatabaseAsync();
        Assert.Equal(0, (await Apex.RunAsync("db", "init", "--connection", database)).ExitCode);
        var (keyExit, key, keyError) = await Apex.RunAsync("keys", "create", "--role", "ingest", "--connection", database);
        Assert.True(keyExit == 0, keyError);

        await using var doomed = await ServeHost.StartAsync(ServeHost.FreePort(), SiloSettings(database));
        await using var survivor = await ServeHost.StartAsync(ServeHost.FreePort(), SiloSettings(database));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await ActiveSilosAsync(database) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the two silos did not both become active");
            await Task.Delay(250);
        }

        string[] simulate = ["simulate", "--url", survivor.Url, "--key", key.Trim(), "--tracks", "30", "--events", "60000", "--batch", "100",
            "--duplicates", "0.05", "--retries", "0.1", "--seed", "23", "--concurrency", "4", "--attempts", "400"];
        var run = Apex.RunAsync(simulate);
        // The faults come once events flow (registering the tracks first takes a while on a busy machine).
        using (var reader = new HttpClient { BaseAddress = new Uri(survivor.Url) })
        {
            reader.DefaultRequestHeaders.Add("X-Api-Key", key.Trim());
            var flowing = DateTime.UtcNow.AddSeconds(120);
            while (!await StreamsCountedAsync(reader))
            {
                Assert.True(DateTime.UtcNow < flowing && !run.IsCompleted, "no events were counted within 120 s");
                await Task.Delay(200);
            }
        }

        Assert.False(run.IsCompleted, "the simulation ended before the first fault");
        await doomed.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(run.IsCompleted, "the simulation ended before the database restart");
        await postgres.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await postgres.StartAsync();

        var (exit, _, log) = await run;
        Assert.True(exit == 0, log);
        Assert.Contains("OK: the host's counts equal the simulator's for all", log, StringComparison.Ordinal);
        Assert.True(Retried(log) > 0, "the faults did not reach the client: " + log);
        Assert.False(survivor.HasExited);

        var (againExit, _, again) = await Apex.RunAsync(simulate);
        Assert.True(againExit == 0, again);
        Assert.Contains("accepted 0,", again, StringComparison.Ordinal);
        Assert.Contains("OK: the host's counts equal", again, StringComparison.Ordinal);
    }

    private static async Task<bool> StreamsCountedAsync(HttpClient reader)
    {
        var listing = await reader.GetStringAsync(new Uri("/platforms/suno/tracks?sort=streams&limit=1", UriKind.Relative));
        using var json = System.Text.Json.JsonDocument.Parse(listing);
        return json.RootElement.EnumerateArray().Any(t => t.GetProperty("streams").GetInt64() > 0);
    }

    private static int Retried(string log) =>
        RetriedRequests().Match(log) is { Success: true } match ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"(\d+) requests retried after errors")]
    private static partial Regex RetriedRequests();
}
