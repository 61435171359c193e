using System.CommandLine;
using Apex.Grains.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex db init|migrate|check|repair</c>: the schemas of both profiles (PostgreSQL with
/// <c>--connection</c>, a local data folder with <c>--data-dir</c>), whether their stores agree, and
/// rebuilding what can be rebuilt when they do not.
/// </summary>
internal static class DbCommand
{
    /// <summary>The stores do not agree (check), or could not be repaired: the host would refuse them too.</summary>
    public const int Disagree = 3;

    public static Command Create()
    {
        var initConnection = new Option<string>("--connection") { Description = "PostgreSQL connection string, e.g. \"Host=db;Username=apex;Password=…;Database=apex\".", Required = true };
        var init = new Command("init", "Create (or update) the cluster profile's tables and stored queries and stamp the schema version; safe to run again (the same as `db migrate --connection`).") { initConnection };
        init.SetAction((result, cancellationToken) => MigrateAsync(result.GetValue(initConnection), null, cancellationToken));

        var (migrate, migrateConnection, migrateData) = WithTarget("migrate", "Bring a database (PostgreSQL) or a local data folder to this build's schema; idempotent. A newer schema is left alone (exit 3).");
        migrate.SetAction((result, cancellationToken) => MigrateAsync(result.GetValue(migrateConnection), result.GetValue(migrateData), cancellationToken));

        var (check, checkConnection, checkData) = WithTarget("check", "Report whether the stores agree (schema versions, one data set, every registered track known to the ingest log), as the host checks at start; exit 3 when they do not. Changes nothing.");
        check.SetAction((result, cancellationToken) => CheckAsync(result.GetValue(checkConnection), result.GetValue(checkData), cancellationToken));

        var (repair, repairConnection, repairData) = WithTarget("repair", "Rebuild what can be rebuilt (lost stores made again and stamped, registered tracks put back into the ingest log from their grain state) and list what was lost. Run it with the host stopped.");
        repair.SetAction((result, cancellationToken) => RepairAsync(result.GetValue(repairConnection), result.GetValue(repairData), cancellationToken));

        return new Command("db", "Database schemas and store agreement, for both profiles.") { init, migrate, check, repair };
    }

    private static (Command Command, Option<string> Connection, Option<DirectoryInfo> DataDir) WithTarget(string name, string description)
    {
        var connection = new Option<string>("--connection") { Description = "PostgreSQL connection string (the cluster profile)." };
        var dataDir = new Option<DirectoryInfo>("--data-dir") { Description = "The local profile's data folder (Apex:DataDir, default ./data)." };
        var command = new Command(name, description) { connection, dataDir };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(connection) is null) == (result.GetValue(dataDir) is null))
            {
                result.AddError("give exactly one of --connection (PostgreSQL) or --data-dir (a local data folder)");
            }
        });
        return (command, connection, dataDir);
    }

    private static async Task<int> MigrateAsync(string? connection, DirectoryInfo? dataDir, CancellationToken cancellationToken)
    {
        try
        {
            if (connection is not null)
            {
                var dataSet = await StoreAgreement.MigratePostgresAsync(connection, cancellationToken);
                CliConsole.Note($"schema version {StoreMeta.SchemaVersion} applied (data set {dataSet}): Orleans storage, reminders and membership tables with their stored queries; the ingest log, scores, battles and API key tables.");
                return ExitCodes.Ok;
            }

            var report = await StoreAgreement.CheckLocalAsync(dataDir!.FullName, cancellationToken);
            if (report.Findings.FirstOrDefault(f => f.Kind == StoreProblem.NewerSchema) is { } newer)
            {
                CliConsole.Fail($"{newer.Store}: {newer.Problem}; nothing was changed.");
                return Disagree;
            }

            Directory.CreateDirectory(dataDir.FullName);
            var (set, stamped) = await StoreAgreement.StampLocalAsync(dataDir.FullName, cancellationToken);
            CliConsole.Note($"schema version {StoreMeta.SchemaVersion} applied to {LocalStores.All.Count} stores in {dataDir.FullName} (data set {set}; {stamped} stamped now).");
            return ExitCodes.Ok;
        }
        catch (Exception ex) when (ex is NpgsqlException or SqliteException or ArgumentException or InvalidOperationException or IOException)
        {
            CliConsole.Fail($"could not apply the schema: {ex.Message}");
            return ex is InvalidOperationException ? Disagree : ExitCodes.SomeFailed;
        }
    }

    private static async Task<int> CheckAsync(string? connection, DirectoryInfo? dataDir, CancellationToken cancellationToken)
    {
        StoreReport report;
        try
        {
            report = connection is not null
                ? await StoreAgreement.CheckPostgresAsync(connection, cancellationToken)
                : await StoreAgreement.CheckLocalAsync(dataDir!.FullName, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or SqliteException or ArgumentException or IOException)
        {
            CliConsole.Fail($"could not read the stores: {ex.Message}");
            return ExitCodes.SomeFailed;
        }

        Console.Out.WriteLine($"data set: {report.DataSet ?? "(none yet)"}");
        Console.Out.WriteLine($"registered tracks: {report.RegisteredTracks}, unknown to the ingest log: {report.MissingCount}");
        foreach (var finding in report.Findings)
        {
            Console.Out.WriteLine($"problem: {finding.Store}: {finding.Problem}. Way out: {finding.WayOut}.");
        }

        Console.Out.WriteLine(report.Agree ? "the stores agree" : "the stores do not agree: a host would refuse to start on them (exit 3)");
        return report.Agree ? ExitCodes.Ok : Disagree;
    }

    private static async Task<int> RepairAsync(string? connection, DirectoryInfo? dataDir, CancellationToken cancellationToken)
    {
        RepairReport repaired;
        try
        {
            repaired = connection is not null
                ? await StoreAgreement.RepairPostgresAsync(connection, cancellationToken)
                : await StoreAgreement.RepairLocalAsync(dataDir!.FullName, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            CliConsole.Fail(ex.Message);
            return Disagree;
        }
        catch (Exception ex) when (ex is NpgsqlException or SqliteException or ArgumentException or IOException)
        {
            CliConsole.Fail($"could not repair the stores: {ex.Message}");
            return ExitCodes.SomeFailed;
        }

        Console.Out.WriteLine($"data set: {repaired.DataSet}; stores stamped: {repaired.StoresStamped}; tracks put back into the ingest log: {repaired.TracksReRegistered}");
        foreach (var lost in repaired.Lost)
        {
            Console.Out.WriteLine($"lost: {lost}");
        }

        var after = connection is not null
            ? await StoreAgreement.CheckPostgresAsync(connection, cancellationToken)
            : await StoreAgreement.CheckLocalAsync(dataDir!.FullName, cancellationToken);
        Console.Out.WriteLine(after.Agree ? "the stores agree now" : "the stores still do not agree: " + string.Join("; ", after.Findings.Select(f => $"{f.Store}: {f.Problem}")));
        return after.Agree ? ExitCodes.Ok : Disagree;
    }
}
