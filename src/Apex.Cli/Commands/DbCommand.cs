using System.CommandLine;
using Apex.Grains.Storage;
using Npgsql;

namespace Apex.Cli.Commands;

/// <summary><c>apex db init</c>: the PostgreSQL schema the cluster profile's Orleans providers need.</summary>
internal static class DbCommand
{
    public static Command Create()
    {
        var connection = new Option<string>("--connection") { Description = "PostgreSQL connection string, e.g. \"Host=db;Username=apex;Password=…;Database=apex\".", Required = true };
        var init = new Command("init", "Create (or update) the tables and stored queries; safe to run again.") { connection };
        init.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                await PostgresSchema.ApplyAsync(result.GetValue(connection)!, cancellationToken);
                CliConsole.Note("schema applied: Orleans storage, reminders and membership tables with their stored queries; the ingest log and API key tables.");
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is NpgsqlException or ArgumentException)
            {
                CliConsole.Fail($"could not apply the schema: {ex.Message}");
                return ExitCodes.SomeFailed;
            }
        });
        return new Command("db", "Database schemas for the cluster profile.") { init };
    }
}
