using Apex.Testing;
using Npgsql;

namespace Apex.Cli.Tests;

public sealed class DbCommandTests(ThrowawayPostgres postgres) : IClassFixture<ThrowawayPostgres>
{
    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Db_init_creates_every_table_and_query_and_can_run_again()
    {
        var database = await postgres.CreateDatabaseAsync();

        var first = await Apex.RunAsync("db", "init", "--connection", database);
        var second = await Apex.RunAsync("db", "init", "--connection", database);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.True(second.ExitCode == 0, second.Stderr);
        const string tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('orleansquery', 'orleansstorage', 'orleansreminderstable', 'orleansmembershiptable', 'orleansmembershipversiontable', 'apex_tracks', 'apex_events', 'apex_keys')";
        Assert.Equal(8, await CountAsync(database, tables));
        // Storage 3, reminders 7, membership 10: each key once after two runs.
        Assert.Equal(20, await CountAsync(database, "SELECT count(DISTINCT QueryKey) FROM OrleansQuery"));
        Assert.Equal(20, await CountAsync(database, "SELECT count(*) FROM OrleansQuery"));
    }

    [Fact]
    public async Task Keys_go_to_the_cluster_database_and_an_unreachable_one_is_a_clear_error()
    {
        var database = await postgres.CreateDatabaseAsync();
        Assert.Equal(0, (await Apex.RunAsync("db", "init", "--connection", database)).ExitCode);

        var created = await Apex.RunAsync("keys", "create", "--role", "ingest", "--name", "platform-a", "--connection", database);
        var unreachable = await Apex.RunAsync("db", "init", "--connection", "Host=127.0.0.1;Port=1;Username=apex;Timeout=3");

        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.StartsWith("apex_", created.Stdout.Trim(), StringComparison.Ordinal);
        Assert.Equal(1, await CountAsync(database, "SELECT count(*) FROM apex_keys WHERE role = 'ingest' AND name = 'platform-a'"));
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("could not apply the schema", unreachable.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Db_check_finds_a_registered_track_the_ingest_log_lost_and_repair_puts_it_back()
    {
        var database = await postgres.CreateDatabaseAsync();
        Assert.Equal(0, (await Apex.RunAsync("db", "migrate", "--connection", database)).ExitCode);
        // A registered track: its grain state row (as Orleans' ADO.NET storage writes it), and no ingest log row.
        await CountAsync(database, """
            INSERT INTO orleansstorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
            VALUES (1, 0, 0, 2, 'track', 'lost-1', 'apex', convert_to('{"$id":"1","Registration":{"$id":"2","Platform":"udio","CreatedAt":"2026-10-01T12:00:00+00:00","AudioLocation":"a.ogg"}}', 'UTF8'), now(), 1)
            RETURNING 1
            """);

        var check = await Apex.RunAsync("db", "check", "--connection", database);
        var repair = await Apex.RunAsync("db", "repair", "--connection", database);
        var again = await Apex.RunAsync("db", "check", "--connection", database);

        Assert.Equal(3, check.ExitCode);
        Assert.Contains("unknown to the ingest log (e.g. lost-1)", check.Stdout, StringComparison.Ordinal);
        Assert.True(repair.ExitCode == 0, repair.Stdout + repair.Stderr);
        Assert.Contains("tracks put back into the ingest log: 1", repair.Stdout, StringComparison.Ordinal);
        Assert.True(again.ExitCode == 0, again.Stdout);
        Assert.Equal(1, await CountAsync(database, "SELECT count(*) FROM apex_tracks WHERE track_id = 'lost-1' AND platform = 'udio' AND streams = 0"));
    }

    [Fact]
    public async Task Migrating_a_version_3_database_keeps_its_platforms_and_drops_the_listing_indexes()
    {
        var database = await postgres.CreateDatabaseAsync();
        Assert.Equal(0, (await Apex.RunAsync("db", "init", "--connection", database)).ExitCode);
        // What version 3 left: tracks, their listing indexes, no platforms table.
        await CountAsync(database, """
            DROP TABLE apex_platforms;
            CREATE INDEX ix_apex_tracks_streams ON apex_tracks (platform, streams);
            CREATE INDEX ix_apex_tracks_likes ON apex_tracks (platform, likes);
            CREATE INDEX ix_apex_tracks_created ON apex_tracks (platform, created_at);
            INSERT INTO apex_tracks (track_id, platform, created_at) VALUES ('t1', 'udio', now()), ('t2', 'suno', now()), ('t3', 'udio', now());
            UPDATE apex_meta SET value = '3' WHERE key = 'schema_version' RETURNING 1
            """);

        var check = await Apex.RunAsync("db", "check", "--connection", database);
        var migrate = await Apex.RunAsync("db", "migrate", "--connection", database);

        Assert.Equal(3, check.ExitCode);
        Assert.Contains("schema version 3 is older", check.Stdout, StringComparison.Ordinal);
        Assert.True(migrate.ExitCode == 0, migrate.Stderr);
        Assert.Equal(2, await CountAsync(database, "SELECT count(*) FROM apex_platforms WHERE platform IN ('suno', 'udio')"));
        Assert.Equal(0, await CountAsync(database, "SELECT count(*) FROM pg_indexes WHERE tablename = 'apex_tracks' AND indexname LIKE 'ix_apex_tracks_%'"));
        Assert.Equal(0, (await Apex.RunAsync("db", "check", "--connection", database)).ExitCode);
    }

    [Fact]
    public async Task A_database_of_a_newer_schema_is_refused_and_left_alone()
    {
        var database = await postgres.CreateDatabaseAsync();
        Assert.Equal(0, (await Apex.RunAsync("db", "init", "--connection", database)).ExitCode);
        await CountAsync(database, "UPDATE apex_meta SET value = '99' WHERE key = 'schema_version' RETURNING 1");

        var check = await Apex.RunAsync("db", "check", "--connection", database);
        var migrate = await Apex.RunAsync("db", "migrate", "--connection", database);

        Assert.Equal(3, check.ExitCode);
        Assert.Contains("schema version 99 is newer", check.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, migrate.ExitCode);
        Assert.Equal(1, await CountAsync(database, "SELECT count(*) FROM apex_meta WHERE key = 'schema_version' AND value = '99'"));
    }

    [Fact]
    public async Task A_local_store_deleted_from_its_data_set_is_found_and_repaired()
    {
        var data = Directory.CreateTempSubdirectory("apex-db-local-").FullName;
        try
        {
            var migrate = await Apex.RunAsync("db", "migrate", "--data-dir", data);
            Assert.True(migrate.ExitCode == 0, migrate.Stderr);
            Assert.Equal(0, (await Apex.RunAsync("db", "check", "--data-dir", data)).ExitCode);
            File.Delete(Path.Combine(data, "scores.db"));

            var check = await Apex.RunAsync("db", "check", "--data-dir", data);
            var repair = await Apex.RunAsync("db", "repair", "--data-dir", data);
            var again = await Apex.RunAsync("db", "check", "--data-dir", data);
            var both = await Apex.RunAsync("db", "check", "--data-dir", data, "--connection", "Host=x");

            Assert.Equal(3, check.ExitCode);
            Assert.Contains("scores.db: is missing", check.Stdout, StringComparison.Ordinal);
            Assert.True(repair.ExitCode == 0, repair.Stdout + repair.Stderr);
            Assert.Contains("lost: scores.db", repair.Stdout, StringComparison.Ordinal);
            Assert.Equal(0, again.ExitCode);
            Assert.NotEqual(0, both.ExitCode);
            Assert.Contains("exactly one of --connection", both.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
