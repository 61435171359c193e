using System.CommandLine;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;

namespace Apex.Cli.Commands;

/// <summary><c>apex serve</c> (the host) and <c>apex keys create</c> (API keys in its data folder).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the ApexCluster host: HTTP API + Orleans silo. Settings: appsettings.json, Apex__* environment variables, or --Apex:Setting=value (e.g. --Apex:DataDir=./data --Apex:MediaRoot=./media --urls http://127.0.0.1:5000).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((result, _) => ApexSiloHost.RunAsync(result.UnmatchedTokens.ToArray()));
        return command;
    }

    public static Command CreateKeys()
    {
        var role = new Option<string>("--role") { Description = "reader, ingest or admin.", Required = true };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var name = new Option<string?>("--name") { Description = "A name to recognise the key by." };
        var dataDir = new Option<string>("--data-dir") { Description = "The local host's data folder.", DefaultValueFactory = _ => "./data" };
        var connection = new Option<string?>("--connection") { Description = "The cluster profile's PostgreSQL connection string (instead of --data-dir)." };
        var create = new Command("create", "Create an API key and print it (it is stored hashed and cannot be shown again).") { role, name, dataDir, connection };
        create.SetAction(async (result, cancellationToken) =>
        {
            var postgres = result.GetValue(connection);
            try
            {
                var keys = postgres is null
                    ? await ApiKeyStore.OpenAsync(result.GetValue(dataDir)!, cancellationToken)
                    : await ApiKeyStore.OpenPostgresAsync(postgres, cancellationToken);
                var (key, info) = await keys.CreateAsync(result.GetValue(role)!, result.GetValue(name) ?? result.GetValue(role)!, cancellationToken);
                Console.WriteLine(key);
                var where = postgres is null ? Path.GetFullPath(result.GetValue(dataDir)!) : "the cluster database";
                CliConsole.Note($"created {info.Role} key {info.Id} ('{info.Name}') in {where}; send it as the X-Api-Key header.");
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException or ArgumentException)
            {
                CliConsole.Fail($"could not create the key: {ex.Message}");
                return ExitCodes.SomeFailed;
            }
        });
        return new Command("keys", "Manage the host's API keys.") { create };
    }
}
