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
}
