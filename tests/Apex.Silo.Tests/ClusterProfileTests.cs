using System.Net;
using System.Text;
using System.Text.Json;
using Apex.Grains.Storage;
using Npgsql;

namespace Apex.Silo.Tests;

/// <summary>
/// The cluster profile as it runs in production: two host processes that find each other through
/// Orleans' ADO.NET membership on PostgreSQL and share its grain state, ingest log and API keys.
/// </summary>
public sealed class ClusterProfileTests(ThrowawayPostgres postgres) : IClassFixture<ThrowawayPostgres>, IAsyncLifetime
{
    private readonly string _clusterId = "c" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<string> _folders = [];
    private string _database = "";

    public async Task InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        await PostgresSchema.ApplyAsync(_database);
    }

    public Task DisposeAsync()
    {
        _folders.ForEach(f => Directory.Delete(f, recursive: true));
        return Task.CompletedTask;
    }

    private async Task<SiloProcess> StartSiloAsync(bool gpu, params string[] extra)
    {
        var data = Directory.CreateTempSubdirectory("apex-cluster-data-").FullName;
        _folders.Add(data);
        return await SiloProcess.StartAsync(data, data, [.. extra, "--Apex:Profile=cluster", $"--Apex:Postgres={_database}", $"--Apex:ClusterId={_clusterId}",
            "--Apex:AdvertisedAddress=127.0.0.1", $"--Orleans:Metadata:gpu={gpu}", $"--Apex:ModelsDir={await SiloProcess.ModelsAsync()}"]);
    }

    private async Task<(long Count, string? Silo)> EmbeddingRowAsync(string track)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) OVER (), silo FROM apex_embeddings e JOIN apex_predictions p USING (track_id) WHERE track_id = @t", connection);
        command.Parameters.AddWithValue("t", track);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetInt64(0), reader.GetString(1)) : (0, null);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private async Task<List<(int Status, string Name)>> MembersAsync()
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT Status, SiloName FROM OrleansMembershipTable WHERE DeploymentId = @c ORDER BY Port", connection);
        command.Parameters.AddWithValue("c", _clusterId);
        var members = new List<(int, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            members.Add((reader.GetInt32(0), reader.GetString(1)));
        }

        return members;
    }

    private Task WaitForActiveSilosAsync(int count) => WaitForSilosAsync(count, dead: 0);

    /// <summary>Waits until the membership table holds this many active (3) and dead (6) silos.</summary>
    private async Task WaitForSilosAsync(int active, int dead)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        List<(int Status, string Name)> members;
        while ((members = await MembersAsync()).Count(m => m.Status == 3) != active || members.Count(m => m.Status == 6) != dead)
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected {active} active and {dead} dead silos in the membership table, saw: {string.Join(", ", members)}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Two_silos_share_tracks_events_and_keys_and_a_full_restart_keeps_them()
    {
        const string track = """{"track_id":"c-1","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"song.ogg"}""";
        string readerKey;
        await using (var a = await StartSiloAsync(gpu: true))
        await using (var b = await StartSiloAsync(gpu: false))
        {
            await WaitForActiveSilosAsync(2);
            File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_folders[0], "song.ogg"));
            Assert.Equal(HttpStatusCode.Created, (await a.Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(track))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await b.Http.GetAsync(new Uri("/tracks/c-1", UriKind.Relative))).StatusCode);

            // The same batch sent to both silos (a retry through another instance): counted once.
            const string batch = """{"events":[{"event_id":"1","track_id":"c-1","kind":"stream","count":4},{"event_id":"2","track_id":"c-1","kind":"like"}]}""";
            var first = await BodyAsync(await b.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(batch)));
            var retry = await BodyAsync(await a.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(batch)));
            Assert.Equal((2, 0), (first.GetProperty("accepted").GetInt32(), first.GetProperty("duplicate").GetInt32()));
            Assert.Equal((0, 2), (retry.GetProperty("accepted").GetInt32(), retry.GetProperty("duplicate").GetInt32()));

            var view = await BodyAsync(await a.Http.GetAsync(new Uri("/tracks/c-1", UriKind.Relative)));
            Assert.Equal((4, 1), (view.GetProperty("streams").GetInt64(), view.GetProperty("likes").GetInt64()));

            // Scored by the GPU silo's embedder (wherever the track grain lives), stored in PostgreSQL.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            JsonElement scoring;
            while ((scoring = (await BodyAsync(await b.Http.GetAsync(new Uri("/tracks/c-1", UriKind.Relative)))).GetProperty("scoring")).GetProperty("status").GetString() == "queued")
            {
                Assert.True(DateTime.UtcNow < deadline, "not scored: " + scoring.GetProperty("error"));
                await Task.Delay(250);
            }

            Assert.Equal("scored", scoring.GetProperty("status").GetString());
            var silos = await BodyAsync(await a.Http.GetAsync(new Uri("/cluster/silos", UriKind.Relative)));
            var gpuSilo = silos.GetProperty("silos").EnumerateArray().Single(s => s.GetProperty("is_this_silo").GetBoolean()).GetProperty("address").GetString();
            var (rows, embeddedOn) = await EmbeddingRowAsync("c-1");
            Assert.Equal(1, rows);
            Assert.Equal(gpuSilo, embeddedOn);

            // A key made through one silo opens the other: the key store is the cluster's.
            var created = await a.Http.PostAsync(new Uri("/keys", UriKind.Relative), Json("""{"role":"reader","name":"dashboards"}"""));
            readerKey = (await BodyAsync(created)).GetProperty("key").GetString()!;
            using var reader = b.ClientWith(readerKey);
            Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync(new Uri("/tracks/c-1", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync(new Uri("/events", UriKind.Relative), Json(batch))).StatusCode);

            // Silo A crashes: B declares it dead and goes on serving what A held.
            await a.KillAsync();
            await WaitForSilosAsync(active: 1, dead: 1);
            // A read may still answer a retryable 503 while B's directory forgets A's activations (the README's fault rule).
            HttpResponseMessage read;
            var readDeadline = DateTime.UtcNow.AddSeconds(30);
            while ((read = await b.Http.GetAsync(new Uri("/tracks/c-1", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < readDeadline)
            {
                await Task.Delay(250);
            }

            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            var afterCrash = await BodyAsync(read);
            Assert.Equal((4, 1), (afterCrash.GetProperty("streams").GetInt64(), afterCrash.GetProperty("likes").GetInt64()));
            const string more = """{"events":[{"event_id":"3","track_id":"c-1","kind":"stream","count":4},{"event_id":"4","track_id":"c-1","kind":"like"}]}""";
            Assert.Equal(2, (await BodyAsync(await b.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(more)))).GetProperty("accepted").GetInt32());
            Assert.Equal(0, await b.StopAsync());
        }

        // The last silo stopped as Kubernetes stops a pod, the database restarted: a new silo reads it all back.
        await postgres.RestartAsync();
        await using var again = await StartSiloAsync(gpu: false);
        using var client = again.ClientWith(readerKey);
        var restored = await BodyAsync(await client.GetAsync(new Uri("/tracks/c-1", UriKind.Relative)));
        Assert.Equal((8, 2), (restored.GetProperty("streams").GetInt64(), restored.GetProperty("likes").GetInt64()));
        Assert.Equal("song.ogg", restored.GetProperty("audio_location").GetString());
    }

    [Fact]
    public async Task A_database_outage_answers_503_with_retry_after_keeps_the_silo_alive_and_recovers_by_itself()
    {
        const string track = """{"track_id":"o-1","platform":"suno","created_at":"2026-11-01T00:00:00Z","audio_path":"song.ogg"}""";
        const string before = """{"events":[{"event_id":"b1","track_id":"o-1","kind":"stream","count":2}]}""";
        const string during = """{"events":[{"event_id":"d1","track_id":"o-1","kind":"stream","count":5},{"event_id":"d2","track_id":"o-1","kind":"like"}]}""";
        await using var silo = await StartSiloAsync(gpu: false);
        await WaitForActiveSilosAsync(1);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_folders[0], "song.ogg"));
        Assert.Equal(HttpStatusCode.Created, (await silo.Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(track))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(before))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);

        await postgres.StopAsync();
        try
        {
            var refused = await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(during));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter?.Delta);
            var problem = await BodyAsync(refused);
            Assert.Equal(503, problem.GetProperty("status").GetInt32());
            Assert.DoesNotContain("Npgsql", problem.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", problem.ToString(), StringComparison.Ordinal);
            var read = await silo.Http.GetAsync(new Uri("/tracks/o-1", UriKind.Relative));
            Assert.True(read.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"a read during the outage answered {read.StatusCode}");
            var ready = await silo.Http.GetAsync(new Uri("/health/ready", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("unreachable", (await BodyAsync(ready)).GetProperty("checks").GetProperty("silo").GetProperty("data").GetProperty("database").GetString());
            Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
        }
        finally
        {
            await postgres.StartAsync();
        }

        // Back by itself: ready again, and the refused batch (never acknowledged) is accepted in full.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await silo.Http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "not ready within 60 s of the database's return");
            await Task.Delay(250);
        }

        var accepted = await BodyAsync(await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(during)));
        Assert.Equal(2, accepted.GetProperty("accepted").GetInt32());
        var view = await BodyAsync(await silo.Http.GetAsync(new Uri("/tracks/o-1", UriKind.Relative)));
        Assert.Equal((7, 1), (view.GetProperty("streams").GetInt64(), view.GetProperty("likes").GetInt64()));
    }

    [Fact]
    public async Task Killing_the_silo_of_the_population_grains_fails_no_batch_on_the_survivor_and_the_percentiles_end_exact()
    {
        await using var a = await StartSiloAsync(gpu: false);
        await using var b = await StartSiloAsync(gpu: false);
        await WaitForActiveSilosAsync(2);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "sorohan-solo-trumpet-06.ogg"), Path.Combine(_folders[0], "song.ogg"));
        var tracks = Enumerable.Range(0, 6).Select(i => $"k-{i}").ToList();
        foreach (var id in tracks)
        {
            var body = $$"""{"track_id":"{{id}}","platform":"killed","created_at":"2026-11-01T00:00:00Z","audio_path":"song.ogg"}""";
            Assert.Equal(HttpStatusCode.Created, (await a.Http.PostAsync(new Uri("/tracks", UriKind.Relative), Json(body))).StatusCode);
        }

        var expected = tracks.ToDictionary(t => t, _ => 0L);
        var sequence = 0;
        async Task<HttpStatusCode> SendAsync(SiloProcess silo)
        {
            var batch = tracks.Select((t, i) => (Id: $"s-{sequence}-{i}", Track: t, Count: 1 + ((sequence + i) % 4))).ToList();
            var json = "{\"events\":[" + string.Join(',', batch.Select(e => $$"""{"event_id":"{{e.Id}}","track_id":"{{e.Track}}","kind":"stream","count":{{e.Count}}}""")) + "]}";
            var response = await silo.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(json));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                batch.ForEach(e => expected[e.Track] += e.Count);
                sequence++;
            }

            return response.StatusCode;
        }

        // Ingest through A first: the platform's population grain lives on A.
        Assert.Equal(HttpStatusCode.OK, await SendAsync(a));
        await a.KillAsync();

        // Until A is declared dead and after: every batch through B is acknowledged.
        var statuses = new List<HttpStatusCode>();
        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until)
        {
            statuses.Add(await SendAsync(b));
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        await WaitForSilosAsync(active: 1, dead: 1);

        // Counts exact, and the live percentiles those of the exact counts (within the hand-off bound).
        var ranks = PopularityRanks(expected.Values.ToArray());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var views = new List<JsonElement>();
            foreach (var id in tracks)
            {
                views.Add(await BodyAsync(await b.Http.GetAsync(new Uri($"/tracks/{id}", UriKind.Relative))));
            }

            Assert.Equal(tracks.Select(t => expected[t]), views.Select(v => v.GetProperty("streams").GetInt64()));
            var percentiles = views.Select(v => v.GetProperty("popularity").GetProperty("streams_percentile").GetDouble()).ToList();
            if (percentiles.Zip(ranks).All(p => Math.Abs(p.First - p.Second) < 1e-9))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"percentiles {string.Join(", ", percentiles)} did not reach {string.Join(", ", ranks)}");
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task Webhook_deliveries_go_on_from_the_survivor_when_the_dispatchers_silo_dies()
    {
        string[] webhooks = ["--Apex:Webhooks:AllowLoopback=true", "--Apex:Webhooks:RetryBase=00:00:00.300", "--Apex:Webhooks:MaxRetryDelay=00:00:01", "--Apex:Webhooks:Poll=00:00:00.200"];
        await using var receiver = WebhookReceiver.Start();
        receiver.Answer = _ => Task.FromResult(503);
        var silos = new[] { await StartSiloAsync(false, webhooks), await StartSiloAsync(false, webhooks) };
        try
        {
            await WaitForActiveSilosAsync(2);
            var created = await BodyAsync(await silos[0].Http.PostAsync(new Uri("/subscriptions", UriKind.Relative), Json($$"""{"url":"{{receiver.Url}}","types":["model_promoted"]}""")));
            var (subscription, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
            var serving = (await BodyAsync(await silos[1].Http.GetAsync(new Uri("/models", UriKind.Relative)))).GetProperty("serving").GetString()!;
            Assert.Equal(HttpStatusCode.OK, (await silos[1].Http.PostAsync(new Uri($"/models/{serving}/promote", UriKind.Relative), null)).StatusCode);
            var first = (await receiver.WaitForAsync(r => r.Count >= 2, TimeSpan.FromMinutes(1), "two failed attempts"))[0].DeliveryId;

            // The silo that runs the dispatcher is the one that reports its pending deliveries: it dies.
            var scrapes = await Task.WhenAll(silos.Select(s => s.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative))));
            var dispatcher = Array.FindIndex(scrapes, m => m.Contains("apex_webhooks_pending", StringComparison.Ordinal));
            Assert.True(dispatcher >= 0, "no silo reports the dispatcher's pending deliveries");
            var survivor = silos[1 - dispatcher];
            await silos[dispatcher].KillAsync();
            receiver.Answer = _ => Task.FromResult(200);
            await receiver.WaitForAsync(r => r.Any(x => x.DeliveryId == first && x.Answered == 200), TimeSpan.FromMinutes(2), "the delivery from the survivor");

            // The survivor records new events and delivers them too.
            Assert.Equal(HttpStatusCode.OK, (await survivor.Http.PostAsync(new Uri($"/models/{serving}/promote", UriKind.Relative), null)).StatusCode);
            var delivered = await receiver.WaitForAsync(r => r.Where(x => x.Answered == 200).DistinctBy(x => x.DeliveryId).Count() == 2, TimeSpan.FromMinutes(1), "the second promotion");
            Assert.All(delivered, r => Assert.True(Apex.Grains.Webhooks.WebhookSignature.Verify(secret, r.Signature, r.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5))));
            var deliveries = (await BodyAsync(await survivor.Http.GetAsync(new Uri($"/subscriptions/{subscription}/deliveries", UriKind.Relative)))).EnumerateArray().ToList();
            Assert.Equal(2, deliveries.Count);
            Assert.All(deliveries, d => Assert.Equal("delivered", d.GetProperty("status").GetString()));
            Assert.True(deliveries.Single(d => d.GetProperty("id").GetString() == first).GetProperty("attempts").GetInt32() >= 3);
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }

    /// <summary>pandas' rank(pct=True): the average rank of ties over the count.</summary>
    private static double[] PopularityRanks(long[] counts) =>
        counts.Select(c => (counts.Count(o => o < c) + ((counts.Count(o => o == c) + 1) / 2.0)) / counts.Length).ToArray();

    [Fact]
    public async Task Each_silo_publishes_its_gpu_flag_and_the_others_see_it()
    {
        await using var gpu = await StartSiloAsync(gpu: true);
        await using var cpu = await StartSiloAsync(gpu: false);
        await WaitForActiveSilosAsync(2);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement view;
        do
        {
            view = await BodyAsync(await cpu.Http.GetAsync(new Uri("/cluster/silos", UriKind.Relative)));
            await Task.Delay(200);
        }
        while (view.GetProperty("silos").GetArrayLength() < 2 && DateTime.UtcNow < deadline);

        Assert.Equal("cluster", view.GetProperty("profile").GetString());
        Assert.Equal(_clusterId, view.GetProperty("cluster_id").GetString());
        var silos = view.GetProperty("silos").EnumerateArray().Select(s => (Self: s.GetProperty("is_this_silo").GetBoolean(), Gpu: s.GetProperty("gpu").GetBoolean())).OrderBy(s => s.Self).ToList();
        Assert.Equal([(false, true), (true, false)], silos);
        using var anonymous = cpu.ClientWith(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/cluster/silos", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_cluster_silo_without_a_prepared_database_says_what_to_run()
    {
        var empty = await postgres.CreateDatabaseAsync();
        var data = Directory.CreateTempSubdirectory("apex-cluster-data-").FullName;
        _folders.Add(data);

        var (unprepared, error) = await SiloProcess.RunToExitAsync("--Apex:Profile=cluster", $"--Apex:Postgres={empty}", $"--Apex:DataDir={data}");
        var (missing, missingError) = await SiloProcess.RunToExitAsync("--Apex:Profile=cluster", $"--Apex:DataDir={data}");
        var (badGpu, badGpuError) = await SiloProcess.RunToExitAsync("--Apex:Profile=cluster", $"--Apex:Postgres={empty}", $"--Apex:DataDir={data}", "--Orleans:Metadata:gpu=maybe");

        Assert.Equal(3, unprepared);
        Assert.Contains("apex db init", error, StringComparison.Ordinal);
        Assert.Equal(2, missing);
        Assert.Contains("Apex:Postgres", missingError, StringComparison.Ordinal);
        Assert.Equal(2, badGpu);
        Assert.Contains("Orleans:Metadata:gpu must be true or false", badGpuError, StringComparison.Ordinal);
    }
}
