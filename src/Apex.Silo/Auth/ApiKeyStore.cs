using System.Data.Common;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Memory;
using Npgsql;

namespace Apex.Silo.Auth;

/// <summary>A stored key: its id (not secret), role and name.</summary>
public sealed record ApiKeyInfo(string Id, string Role, string Name, DateTimeOffset CreatedAt);

/// <summary>
/// API keys in the profile's database (SQLite <c>keys.db</c> in the data folder, or the cluster's
/// PostgreSQL, table <c>apex_keys</c>), stored as SHA-256 hashes only: a key is
/// 32 random bytes, so a fast hash is enough (nothing to brute-force); the clear key is shown once.
/// A key reads "apex_{id}_{secret}", so the id that names it in logs is not the secret.
/// Found keys are cached for <see cref="Fresh"/> (a key removed from the database stops working on every
/// silo within that time), and while the database cannot be reached a cached key keeps working for up
/// to <see cref="StaleIfUnreachable"/>, so a database blip does not fail every request.
/// </summary>
public sealed class ApiKeyStore : IDisposable
{
    public static readonly TimeSpan Fresh = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan StaleIfUnreachable = TimeSpan.FromSeconds(60);

    private readonly DbProviderFactory _factory;
    private readonly string _connectionString;
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 10_000 });

    private ApiKeyStore(DbProviderFactory factory, string connectionString)
    {
        _factory = factory;
        _connectionString = connectionString;
    }

    /// <summary>The local profile's store: <c>keys.db</c> in <paramref name="dataDir"/>, created when missing.</summary>
    public static async Task<ApiKeyStore> OpenAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(dataDir);
        var store = new ApiKeyStore(SqliteFactory.Instance, Apex.Grains.Storage.SqliteGrainStorage.ConnectionString(Path.Combine(dataDir, "keys.db")));
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE IF NOT EXISTS apex_keys (id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, role TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL)";
        await command.ExecuteNonQueryAsync(cancellationToken);
        return store;
    }

    /// <summary>The cluster profile's store, shared by every silo: the <c>apex_keys</c> table that <c>apex db init</c> creates.</summary>
    public static async Task<ApiKeyStore> OpenPostgresAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var store = new ApiKeyStore(NpgsqlFactory.Instance, connectionString);
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT to_regclass('apex_keys') IS NOT NULL";
        if (!(bool)(await command.ExecuteScalarAsync(cancellationToken))!)
        {
            throw new InvalidOperationException("The database has no apex_keys table: run `apex db init --connection …` first.");
        }

        return store;
    }

    /// <summary>Creates a key and returns it in clear (the only time it exists in clear).</summary>
    public async Task<(string Key, ApiKeyInfo Info)> CreateAsync(string role, string name, CancellationToken cancellationToken = default)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var key = $"apex_{id}_{Base64Url(RandomNumberGenerator.GetBytes(32))}";
        if (!await AddAsync(key, id, role, name, cancellationToken))
        {
            throw new InvalidOperationException($"A key with id {id} exists already; try again.");
        }

        return (key, new ApiKeyInfo(id, role, name, DateTimeOffset.UtcNow));
    }

    /// <summary>Stores a key chosen elsewhere (the bootstrap admin key) when no key exists yet; true when stored.</summary>
    public async Task<bool> BootstrapAsync(string key, CancellationToken cancellationToken = default)
    {
        if (await CountAsync(cancellationToken) > 0)
        {
            return false;
        }

        // Silos of a new cluster may bootstrap at once: the first insert wins, the others change nothing.
        return await AddAsync(key, "bootstrap", Roles.Admin, "bootstrap admin", cancellationToken);
    }

    public async Task<ApiKeyInfo?> FindAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = Convert.ToHexString(Hash(key));
        var cached = _cache.Get<(ApiKeyInfo Info, DateTime FetchedAt)?>(hash);
        if (cached is { } hit && DateTime.UtcNow - hit.FetchedAt < Fresh)
        {
            return hit.Info;
        }

        ApiKeyInfo? found;
        try
        {
            found = await LookUpAsync(key, cancellationToken);
        }
        catch (DbException) when (cached is { } stale)
        {
            return stale.Info;
        }

        if (found is null)
        {
            _cache.Remove(hash);
        }
        else
        {
            _cache.Set<(ApiKeyInfo, DateTime)?>(hash, (found, DateTime.UtcNow), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = StaleIfUnreachable });
        }

        return found;
    }

    public void Dispose() => _cache.Dispose();

    private async Task<ApiKeyInfo?> LookUpAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, role, name, created_at FROM apex_keys WHERE hash = @hash";
        Add(command, "@hash", Hash(key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ApiKeyInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture))
            : null;
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM apex_keys";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<bool> AddAsync(string key, string id, string role, string name, CancellationToken cancellationToken)
    {
        if (!Roles.IsKnown(role))
        {
            throw new ArgumentException($"Unknown role '{role}': use {string.Join(", ", Roles.All)}.", nameof(role));
        }

        if (key.Length < 16)
        {
            throw new ArgumentException("An API key must be at least 16 characters.", nameof(key));
        }

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO apex_keys (id, hash, role, name, created_at) VALUES (@id, @hash, @role, @name, @at) ON CONFLICT DO NOTHING";
        Add(command, "@id", id);
        Add(command, "@hash", Hash(key));
        Add(command, "@role", role);
        Add(command, "@name", name);
        Add(command, "@at", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => Apex.Grains.Storage.Db.OpenAsync(_factory, _connectionString, cancellationToken);

    private static void Add(DbCommand command, string name, object value) => Apex.Grains.Storage.Db.Add(command, name, value);

    private static byte[] Hash(string key) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
