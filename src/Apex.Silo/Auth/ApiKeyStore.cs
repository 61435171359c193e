using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Apex.Silo.Auth;

/// <summary>A stored key: its id (not secret), role and name.</summary>
public sealed record ApiKeyInfo(string Id, string Role, string Name, DateTimeOffset CreatedAt);

/// <summary>
/// API keys in SQLite (<c>keys.db</c> in the data folder), stored as SHA-256 hashes only: a key is
/// 32 random bytes, so a fast hash is enough (nothing to brute-force); the clear key is shown once.
/// A key reads "apex_{id}_{secret}", so the id that names it in logs is not the secret.
/// </summary>
public sealed class ApiKeyStore
{
    private readonly string _connectionString;

    private ApiKeyStore(string connectionString) => _connectionString = connectionString;

    public static async Task<ApiKeyStore> OpenAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(dataDir);
        var connectionString = Apex.Grains.Storage.SqliteGrainStorage.ConnectionString(Path.Combine(dataDir, "keys.db"));
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE IF NOT EXISTS apex_keys (id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, role TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL)";
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new ApiKeyStore(connectionString);
    }

    /// <summary>Creates a key and returns it in clear (the only time it exists in clear).</summary>
    public async Task<(string Key, ApiKeyInfo Info)> CreateAsync(string role, string name, CancellationToken cancellationToken = default)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var key = $"apex_{id}_{Base64Url(RandomNumberGenerator.GetBytes(32))}";
        await AddAsync(key, id, role, name, cancellationToken);
        return (key, new ApiKeyInfo(id, role, name, DateTimeOffset.UtcNow));
    }

    /// <summary>Stores a key chosen elsewhere (the bootstrap admin key) when no key exists yet; true when stored.</summary>
    public async Task<bool> BootstrapAsync(string key, CancellationToken cancellationToken = default)
    {
        if (await CountAsync(cancellationToken) > 0)
        {
            return false;
        }

        await AddAsync(key, "bootstrap", Roles.Admin, "bootstrap admin", cancellationToken);
        return true;
    }

    public async Task<ApiKeyInfo?> FindAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, role, name, created_at FROM apex_keys WHERE hash = $hash";
        command.Parameters.AddWithValue("$hash", Hash(key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ApiKeyInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture))
            : null;
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM apex_keys";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task AddAsync(string key, string id, string role, string name, CancellationToken cancellationToken)
    {
        if (!Roles.IsKnown(role))
        {
            throw new ArgumentException($"Unknown role '{role}': use {string.Join(", ", Roles.All)}.", nameof(role));
        }

        if (key.Length < 16)
        {
            throw new ArgumentException("An API key must be at least 16 characters.", nameof(key));
        }

        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO apex_keys (id, hash, role, name, created_at) VALUES ($id, $hash, $role, $name, $at)";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$hash", Hash(key));
        command.Parameters.AddWithValue("$role", role);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static byte[] Hash(string key) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
