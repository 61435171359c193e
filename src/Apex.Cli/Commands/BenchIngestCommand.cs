using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Silo.Auth;
using Apex.Grains.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench ingest</c>: acknowledged events/s through POST /events at batch 1,000, ack latency
/// p50/p99 at half that rate, and two ceilings on the same machine: the ingest log alone (no HTTP)
/// and raw SQLite batched commits.
/// </summary>
internal static class BenchIngestCommand
{
    public static Command Create()
    {
        var url = new Option<string?>("--url") { Description = "A running host (default: start one in this process on a temporary data folder)." };
        var key = new Option<string?>("--key") { Description = "Ingest key for --url." };
        var tracks = new Option<int>("--tracks") { DefaultValueFactory = _ => 1_000 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1_000 };
        var events = new Option<int>("--events") { Description = "Events in the throughput run.", DefaultValueFactory = _ => 300_000 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 8 };
        var seconds = new Option<int>("--latency-seconds") { DefaultValueFactory = _ => 10 };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var postgres = new Option<string?>("--postgres") { Description = "Run the cluster profile on this PostgreSQL database (the schema is applied) instead of the local profile on SQLite." };
        var command = new Command("ingest", "Time durable event ingestion through the HTTP API, against the log and the database alone.")
        {
            url, key, tracks, batch, events, concurrency, seconds, output, postgres,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var temp = Directory.CreateTempSubdirectory("apex-bench-ingest-").FullName;
            BenchHost? host = null;
            try
            {
                Uri address;
                string apiKey;
                if (result.GetValue(url) is { } given)
                {
                    address = new Uri(given);
                    apiKey = result.GetValue(key) ?? Environment.GetEnvironmentVariable("APEX_API_KEY") ?? throw new ArgumentException("--key is needed with --url.");
                }
                else
                {
                    // No demo head: its training would share the host's cores with the ingestion measured.
                    List<string> settings = [$"--Apex:DataDir={temp}/data", $"--Apex:MediaRoot={BundledAssets.Samples}", "--Logging:LogLevel:Default=Warning", "--Apex:RequestsPerSecondPerKey=1000000", "--Apex:BurstPerKey=1000000", $"--Apex:SiloPort={LoopbackPorts.Free()}", $"--Apex:GatewayPort={LoopbackPorts.Free()}", "--Apex:SyntheticDemo=false"];
                    string? clusterKey = null;
                    if (result.GetValue(postgres) is { } database)
                    {
                        await PostgresSchema.ApplyAsync(database, cancellationToken);
                        settings.AddRange(["--Apex:Profile=cluster", $"--Apex:Postgres={database}", $"--Apex:ClusterId=bench-{Guid.NewGuid():N}", "--Apex:AdvertisedAddress=127.0.0.1"]);
                        // A key of its own: a cluster database that already holds keys takes no bootstrap key.
                        using var keys = ApiKeyStore.CreatePostgres(database);
                        clusterKey = (await keys.CreateAsync(Roles.Admin, "apex bench ingest", null, cancellationToken)).Key;
                    }

                    host = await BenchHost.StartAsync(settings, cancellationToken);
                    apiKey = clusterKey ?? host.Key;
                    address = host.Address;
                }

                var target = new Target(address, apiKey, temp, host, result.GetValue(postgres));
                var report = await RunAsync(target, result.GetValue(tracks), result.GetValue(batch), result.GetValue(events), result.GetValue(concurrency), result.GetValue(seconds), cancellationToken);
                Console.Write(report);
                if (result.GetValue(output) is { } file)
                {
                    await File.AppendAllTextAsync(file, report, cancellationToken);
                }

                return ExitCodes.Ok;
            }
            finally
            {
                if (host is not null)
                {
                    await host.DisposeAsync();
                }

                SqliteConnection.ClearAllPools();
                Directory.Delete(temp, recursive: true);
            }
        });
        return command;
    }

    /// <summary>The host under test, where temporary files go, and the cluster database when the profile is cluster.</summary>
    private sealed record Target(Uri Address, string Key, string Temp, BenchHost? Host, string? Postgres);

    private static async Task<string> RunAsync(Target target, int tracks, int batch, int events, int concurrency, int latencySeconds, CancellationToken cancellationToken)
    {
        var (address, key, temp, host, postgres) = target;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add("X-Api-Key", key);
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, tracks).Select(i => $"bench-{run}-{i}").ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (id, ct) =>
            (await http.PostAsJsonAsync(new Uri("/tracks", UriKind.Relative), new { track_id = id, platform = "bench", created_at = DateTimeOffset.UtcNow, audio_path = "sorohan-solo-trumpet-06.ogg" }, ct)).EnsureSuccessStatusCode());

        var bodies = Enumerable.Range(0, (events + batch - 1) / batch).Select(b => Body(ids, run, b, batch)).ToList();
        var hostCpu = host?.CpuTime();
        var loadCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bodies, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (body, ct) =>
            (await http.PostAsync(new Uri("/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"), ct)).EnsureSuccessStatusCode());
        var elapsed = clock.Elapsed;
        var throughput = bodies.Count * batch / elapsed.TotalSeconds;
        var hostCores = host is null ? (double?)null : (host.CpuTime() - hostCpu!.Value).TotalSeconds / elapsed.TotalSeconds;
        var loadCores = (Process.GetCurrentProcess().TotalProcessorTime - loadCpu).TotalSeconds / elapsed.TotalSeconds;
        CliConsole.Note($"HTTP: {throughput:0} acknowledged events/s");

        // Open loop at half the rate: a batch every interval, whatever the previous one is doing.
        var interval = TimeSpan.FromSeconds(batch / (throughput / 2));
        var latencies = new List<double>();
        var sends = new List<Task>();
        var next = Stopwatch.StartNew();
        for (var b = 0; next.Elapsed < TimeSpan.FromSeconds(latencySeconds); b++)
        {
            var due = interval * b;
            if (due > next.Elapsed)
            {
                await Task.Delay(due - next.Elapsed, cancellationToken);
            }

            var body = Body(ids, run + "-lat", b, batch);
            sends.Add(Task.Run(async () =>
            {
                var sw = Stopwatch.StartNew();
                (await http.PostAsync(new Uri("/events", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken)).EnsureSuccessStatusCode();
                lock (latencies)
                {
                    latencies.Add(sw.Elapsed.TotalMilliseconds);
                }
            }, cancellationToken));
        }

        await Task.WhenAll(sends);
        latencies.Sort();
        var p50 = latencies[latencies.Count / 2];
        var p99 = latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * 0.99))];

        IIngestLog ceilingLog = postgres is null ? await SqliteIngestLog.OpenAsync(Path.Combine(temp, "log.db"), cancellationToken) : await PostgresIngestLog.OpenAsync(postgres, cancellationToken);
        double logRate;
        await using (ceilingLog)
        {
            logRate = await LogCeilingAsync(ceilingLog, batch, cancellationToken);
        }

        // The SQLite log's start: its dedup window and totals rebuilt from the logged batches.
        string? reopen = null;
        if (postgres is null)
        {
            var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            var reopening = Stopwatch.StartNew();
            await using var reopened = await SqliteIngestLog.OpenAsync(Path.Combine(temp, "log.db"), cancellationToken);
            var seconds = reopening.Elapsed.TotalSeconds;
            var bytes = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
            reopen = string.Create(CultureInfo.InvariantCulture, $"Reopening the log alone with {reopened.WindowEvents:N0} events in its dedup window took {seconds:0.00} s ({reopened.WindowEvents / seconds:0} events/s rebuilt), and its window and totals hold about {(double)bytes / reopened.WindowEvents:0} bytes of managed memory per event.");
        }

        var rawRate = postgres is null
            ? await SqliteCeilingAsync(Path.Combine(temp, "raw.db"), batch, cancellationToken)
            : await PostgresCeilingAsync(postgres, batch, cancellationToken);
        var database = postgres is null ? "SQLite" : "PostgreSQL";
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"### apex bench ingest: batch {batch}, {tracks} tracks, {concurrency} concurrent senders, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        var profile = postgres is null
            ? "local profile, SQLite in a temporary data folder; every acknowledgement is after a synced commit (WAL, synchronous=FULL)"
            : $"cluster profile, one silo, PostgreSQL {await ServerVersionAsync(postgres, cancellationToken)} on the same machine; every acknowledgement is after a committed transaction (synchronous_commit=on, fsync=on)";
        var where = host is null ? $"host at {address}" : $"host in its own process (peak RSS {host.PeakMemoryMiB():0} MiB), load generator in this one";
        md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores; {where}; {profile}.");
        md.AppendLine();
        md.AppendLine(inv, $"During the throughput run the host used {(hostCores is { } h ? h.ToString("0.00", inv) : "?")} cores and the load generator {loadCores:0.00}. POST /events reached **{throughput / rawRate:0.00}×** the raw {(postgres is null ? "SQLite" : "PostgreSQL")} ceiling of this run.");
        md.AppendLine();
        md.AppendLine("| path | events/s | ack latency p50 / p99 (ms) |");
        md.AppendLine("|---|---|---|");
        md.AppendLine(inv, $"| POST /events (HTTP + JSON + dedup + log + grains) | {throughput:0} | {p50:0.0} / {p99:0.0} at {throughput / 2:0} events/s |");
        md.AppendLine(inv, $"| ingest log alone (dedup + numbering + totals, group commit) | {logRate:0} | – |");
        md.AppendLine(inv, $"| raw {database}: {batch} rows per synced commit (ceiling) | {rawRate:0} | – |");
        md.AppendLine();
        if (reopen is not null)
        {
            md.AppendLine(reopen);
            md.AppendLine();
        }

        md.AppendLine(inv, $"Command: `apex bench ingest --batch {batch} --tracks {tracks} --events {events} --concurrency {concurrency}{(postgres is null ? "" : " --postgres \"…\"")}`");
        md.AppendLine();
        return md.ToString();
    }

    private static string Body(string[] ids, string run, int b, int batch)
    {
        var sb = new StringBuilder("{\"events\":[");
        for (var i = 0; i < batch; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? "," : "")}{{\"event_id\":\"{run}-{b}-{i}\",\"track_id\":\"{ids[(b * 7919 + i * 104729) % ids.Length]}\",\"kind\":\"{(i % 7 == 0 ? "like" : "stream")}\"}}");
        }

        return sb.Append("]}").ToString();
    }

    private static async Task<double> LogCeilingAsync(IIngestLog log, int batch, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, 1_000).Select(i => $"log-{run}-{i}").ToArray();
        foreach (var id in ids)
        {
            await log.RegisterTrackAsync(id, "bench", DateTimeOffset.UnixEpoch, cancellationToken);
        }

        var batches = Enumerable.Range(0, 200).Select(b => (IReadOnlyList<EngagementEvent>)Enumerable.Range(0, batch)
            .Select(i => new EngagementEvent($"{b}-{i}", ids[(b * 7919 + i * 104729) % ids.Length], EventKind.Stream, 1, DateTimeOffset.UnixEpoch)).ToList()).ToList();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (b, ct) => await log.AppendAsync(b, ct));
        return batches.Count * batch / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> SqliteCeilingAsync(string path, int batch, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync(cancellationToken);
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE e (track TEXT, id TEXT, n INTEGER, PRIMARY KEY (track, id)) WITHOUT ROWID;";
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        const int Commits = 200;
        var clock = Stopwatch.StartNew();
        for (var c = 0; c < Commits; c++)
        {
            await using var transaction = connection.BeginTransaction();
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO e VALUES ($t, $i, 1)";
            var t = insert.Parameters.Add(new SqliteParameter { ParameterName = "$t" });
            var i = insert.Parameters.Add(new SqliteParameter { ParameterName = "$i" });
            insert.Prepare();
            for (var k = 0; k < batch; k++)
            {
                t.Value = $"t{k % 1000}";
                i.Value = $"{c}-{k}";
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return Commits * batch / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The PostgreSQL ceiling: {batch} rows of the same shape as the ingest log's, one multi-row insert per committed transaction.</summary>
    private static async Task<double> PostgresCeilingAsync(string connectionString, int batch, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        var table = "apex_bench_raw_" + Guid.NewGuid().ToString("N")[..8];
        await using (var create = source.CreateCommand($"CREATE TABLE {table} (track_id text NOT NULL, event_id text NOT NULL, n bigint NOT NULL, PRIMARY KEY (track_id, event_id))"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            const int Commits = 200;
            var tracks = Enumerable.Range(0, batch).Select(k => $"t{k % 1000}").ToArray();
            var clock = Stopwatch.StartNew();
            for (var c = 0; c < Commits; c++)
            {
                await using var insert = source.CreateCommand($"INSERT INTO {table} SELECT t, e, 1 FROM unnest($1::text[], $2::text[]) AS u(t, e)");
                insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = tracks });
                insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Enumerable.Range(0, batch).Select(k => $"{c}-{k}").ToArray() });
                await insert.ExecuteNonQueryAsync(cancellationToken); // autocommit: one synced commit each
            }

            return Commits * batch / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await using var drop = source.CreateCommand($"DROP TABLE {table}");
            await drop.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private static async Task<string> ServerVersionAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("SHOW server_version");
        return ((string)(await command.ExecuteScalarAsync(cancellationToken))!).Split(' ')[0];
    }

}
