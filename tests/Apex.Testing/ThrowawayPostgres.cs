using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Apex.Testing;

/// <summary>
/// A PostgreSQL server of the test's own: initdb into a temporary folder, pg_ctl on a free loopback
/// port, removed at dispose. Needs the server binaries (./test.sh installs Debian's postgresql);
/// as root it runs them as the postgres user, since PostgreSQL refuses to run as root.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-pg-").FullName;
    private string _bin = "";
    private int _port;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault() ?? ""
            : "";
        if (_bin.Length == 0)
        {
            throw new InvalidOperationException("PostgreSQL server binaries not found under /usr/lib/postgresql: install them (apt-get install postgresql), as ./test.sh does.");
        }

        var port = _port = FreePort();
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", $"postgres \"{_folder}\"");
        }

        await RunPgAsync("initdb", $"-D \"{_folder}/db\" -A trust -U apex --no-sync");
        await StartAsync();
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=apex;Database=postgres;Pooling=true";
    }

    public async Task DisposeAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        await RunPgAsync("pg_ctl", $"-D \"{_folder}/db\" -m immediate -w stop");
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>A new empty database on the server, for a test that must not see another's rows; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using (var connection = new Npgsql.NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Stops and starts the server: what a full restart of the database looks like to the cluster.</summary>
    public async Task RestartAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        await RunPgAsync("pg_ctl", $"-D \"{_folder}/db\" -m fast -w restart");
    }

    /// <summary>Stops the server (fast shutdown: clients are disconnected): a database outage.</summary>
    public async Task StopAsync()
    {
        await RunPgAsync("pg_ctl", $"-D \"{_folder}/db\" -m fast -w stop");
        Npgsql.NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts the server again on its port.</summary>
    public Task StartAsync() =>
        RunPgAsync("pg_ctl", $"-D \"{_folder}/db\" -l \"{_folder}/log\" -w -o \"-p {_port} -k {_folder} -c listen_addresses=127.0.0.1\" start");

    private Task RunPgAsync(string tool, string arguments) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", $"-u postgres -- \"{Path.Combine(_bin, tool)}\" {arguments}")
            : RunAsync(Path.Combine(_bin, tool), arguments);

    private static async Task RunAsync(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {arguments} failed ({process.ExitCode}): {await error}{await output}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
