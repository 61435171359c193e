using System.CommandLine;
using Apex.Silo.Auth;

namespace Apex.Cli.Commands;

/// <summary><c>apex keys create|list|revoke|rotate</c>: the host's API keys, in its data folder or the cluster database.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "The local host's data folder.", DefaultValueFactory = _ => "./data", Recursive = true };
        var connection = new Option<string?>("--connection") { Description = "The cluster profile's PostgreSQL connection string (instead of --data-dir).", Recursive = true };

        var role = new Option<string>("--role") { Description = "reader, ingest or admin.", Required = true };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var name = new Option<string?>("--name") { Description = "A name to recognise the key by." };
        var expires = new Option<DateTimeOffset?>("--expires-at") { Description = "When the key stops working (ISO 8601, in the future); default: never." };
        var create = new Command("create", "Create an API key and print it (it is stored hashed and cannot be shown again).") { role, name, expires };
        create.SetAction((result, cancellationToken) => RunAsync(result, dataDir, connection, "create the key", async keys =>
        {
            if (result.GetValue(expires) is { } at && at <= DateTimeOffset.UtcNow)
            {
                throw new ArgumentException("--expires-at must be in the future.");
            }

            var (key, info) = await keys.CreateAsync(result.GetValue(role)!, result.GetValue(name) ?? result.GetValue(role)!, result.GetValue(expires), cancellationToken);
            Console.WriteLine(key);
            CliConsole.Note($"created {info.Role} key {info.Id} ('{info.Name}'){(info.ExpiresAt is { } e ? $", expiring {e:O}" : "")}; send it as the X-Api-Key header.");
            return ExitCodes.Ok;
        }));

        var list = new Command("list", "List every key: id, role, name, created, expires, revoked, status (never a key in clear).");
        list.SetAction((result, cancellationToken) => RunAsync(result, dataDir, connection, "list the keys", async keys =>
        {
            var now = DateTimeOffset.UtcNow;
            Console.WriteLine("id\trole\tname\tcreated_at\texpires_at\trevoked_at\tstatus");
            foreach (var k in await keys.ListAsync(cancellationToken))
            {
                Console.WriteLine($"{k.Id}\t{k.Role}\t{k.Name}\t{k.CreatedAt:O}\t{k.ExpiresAt?.ToString("O") ?? "-"}\t{k.RevokedAt?.ToString("O") ?? "-"}\t{k.StatusAt(now)}");
            }

            return ExitCodes.Ok;
        }));

        var id = new Argument<string>("id") { Description = "The key's id (the part after apex_ in the key, as `keys list` shows it)." };
        var revoke = new Command("revoke", "Revoke a key: running hosts stop accepting it within 5 s.") { id };
        revoke.SetAction((result, cancellationToken) => RunAsync(result, dataDir, connection, "revoke the key", async keys =>
        {
            switch (await keys.RevokeAsync(result.GetValue(id)!, cancellationToken))
            {
                case RevokeOutcome.Revoked:
                    CliConsole.Note($"revoked key {result.GetValue(id)}.");
                    return ExitCodes.Ok;
                case RevokeOutcome.AlreadyRevoked:
                    CliConsole.Note($"key {result.GetValue(id)} was revoked already.");
                    return ExitCodes.Ok;
                case RevokeOutcome.NotFound:
                    CliConsole.Fail($"no key has the id '{result.GetValue(id)}'.");
                    return ExitCodes.BadInput;
                default:
                    CliConsole.Fail("that is the last active admin key: create or rotate another admin key first.");
                    return ExitCodes.SomeFailed;
            }
        }));

        var grace = new Option<int>("--grace-seconds") { Description = "How long the old key keeps working beside the new one (0 to 2592000).", DefaultValueFactory = _ => 0 };
        var rotateId = new Argument<string>("id") { Description = "The id of the key to replace." };
        var rotate = new Command("rotate", "Replace a key by a new one with the same role and name (printed once); the old one expires after the grace time.") { rotateId, grace };
        rotate.SetAction((result, cancellationToken) => RunAsync(result, dataDir, connection, "rotate the key", async keys =>
        {
            if (result.GetValue(grace) is < 0 or > 2_592_000)
            {
                throw new ArgumentException("--grace-seconds must be from 0 to 2592000 (30 days).");
            }

            if (await keys.RotateAsync(result.GetValue(rotateId)!, TimeSpan.FromSeconds(result.GetValue(grace)), cancellationToken) is not { } rotated)
            {
                CliConsole.Fail($"no active key has the id '{result.GetValue(rotateId)}'.");
                return ExitCodes.BadInput;
            }

            Console.WriteLine(rotated.Key);
            CliConsole.Note($"key {rotated.Info.Id} replaces {rotated.Old.Id}, which stops working at {rotated.Old.ExpiresAt:O}.");
            return ExitCodes.Ok;
        }));

        return new Command("keys", "Manage the host's API keys.") { dataDir, connection, create, list, revoke, rotate };
    }

    private static async Task<int> RunAsync(ParseResult result, Option<string> dataDir, Option<string?> connection, string what, Func<ApiKeyStore, Task<int>> action)
    {
        var postgres = result.GetValue(connection);
        try
        {
            using var keys = postgres is null
                ? await ApiKeyStore.OpenAsync(result.GetValue(dataDir)!)
                : await ApiKeyStore.OpenPostgresAsync(postgres);
            return await action(keys);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or ArgumentException)
        {
            CliConsole.Fail($"could not {what}: {ex.Message}");
            return ex is ArgumentException ? ExitCodes.BadInput : ExitCodes.SomeFailed;
        }
    }
}
