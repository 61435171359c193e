using System.Data.Common;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Memory;
using Npgsql;

namespace Apex.Silo.Auth;

/// <summary>A stored key: its id (not secret), role, name and life cycle.</summary>
public sealed record ApiKeyInfo(string Id, string Role, string Name, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt = null, DateTimeOffset? RevokedAt = null)
{
    public bool IsActiveAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is not { } expires || expires > now);

    public string StatusAt(DateTimeOffset now) => RevokedAt is not null ? "revoked" : ExpiresAt <= now ? "expired" : "active";
}

/// <summary>What a revocation did.</summary>
public enum RevokeOutcome
{
    Revoked,
    AlreadyRevoked,
    NotFound,

    /// <summary>Refused: it is the last active admin key, and nobody could manage keys after it.</summary>
    LastAdmin,
}

/// <summary>
/// API keys in the profile's database (SQLite <c>keys.db</c> in the data folder, or the cluster's
/// PostgreSQL, table <c>apex_keys</c>), stored as SHA-256 hashes only: a key is
/// 32 random bytes, so a fast hash is enough (nothing to brute-force); the clear key is shown once.
/// A key reads "apex_{id}_{secret}", so the id that names it in logs is not the secret.
/// Found keys are cached for <see cref="Fresh"/> (a key revoked, expired or removed stops working on
/// every silo within that time), and while the database cannot be reached a cached key keeps working
/// for up to <see cref="StaleIfUnreachable"/>, so a database blip does not fail every request.
/// Keys are revoked (kept, marked) rather than deleted, so that the list shows who had access when.
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

    /// <summary>The local profile's store in <paramref name="dataDir"/>, without I/O (the host applies every local schema at start).</summary>
    public static ApiKeyStore Create(string dataDir) =>
        new(SqliteFactory.Instance, Apex.Grains.Storage.SqliteGrainStorage.ConnectionString(Apex.Grains.Storage.LocalStores.Keys.PathIn(dataDir)));

    /// <summary>The cluster's store, without I/O (the host checks the database's schema at start).</summary>
    public static ApiKeyStore CreatePostgres(string connectionString) => new(NpgsqlFactory.Instance, connectionString);

    /// <summary>The local profile's store: <c>keys.db</c> in <paramref name="dataDir"/>, created when missing.</summary>
    public static async Task<ApiKeyStore> OpenAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(dataDir);
        var store = new ApiKeyStore(SqliteFactory.Instance, Apex.Grains.Storage.SqliteGrainStorage.ConnectionString(Apex.Grains.Storage.LocalStores.Keys.PathIn(dataDir)));
        await Apex.Grains.Storage.SqliteSchema.ApplyAsync(store._connectionString, Apex.Grains.Storage.LocalStores.Keys, cancellationToken);
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
    public async Task<(string Key, ApiKeyInfo Info)> CreateAsync(string role, string name, DateTimeOffset? expiresAt = null, CancellationToken cancellationToken = default)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var key = $"apex_{id}_{Base64Url(RandomNumberGenerator.GetBytes(32))}";
        var created = DateTimeOffset.UtcNow;
        if (!await AddAsync(key, id, role, name, expiresAt, cancellationToken))
        {
            throw new InvalidOperationException($"A key with id {id} exists already; try again.");
        }

        return (key, new ApiKeyInfo(id, role, name, created, expiresAt));
    }

    /// <summary>Every key, newest first (never a hash or a key in clear).</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {InfoColumns} FROM apex_keys ORDER BY created_at DESC, id";
        var keys = new List<ApiKeyInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(ReadInfo(reader));
        }

        return keys;
    }

    /// <summary>Revokes a key by id; it stops working on every silo within <see cref="Fresh"/>. The last active admin key is kept.</summary>
    public async Task<RevokeOutcome> RevokeAsync(string id, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        var keys = await ListAsync(cancellationToken);
        if (keys.FirstOrDefault(k => k.Id == id) is not { } key)
        {
            return RevokeOutcome.NotFound;
        }

        if (key.RevokedAt is not null)
        {
            return RevokeOutcome.AlreadyRevoked;
        }

        if (key.Role == Roles.Admin && key.IsActiveAt(now) && keys.Count(k => k.Role == Roles.Admin && k.IsActiveAt(now)) == 1)
        {
            return RevokeOutcome.LastAdmin;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE apex_keys SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL";
        Add(command, "@at", now.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Add(command, "@id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? RevokeOutcome.Revoked : RevokeOutcome.AlreadyRevoked;
    }

    /// <summary>
    /// Replaces a key: a new one with the same role and name, returned in clear; the old one keeps working
    /// for <paramref name="grace"/> (so clients can switch over) and then expires. Null when the old key is
    /// unknown or no longer active.
    /// </summary>
    public async Task<(string Key, ApiKeyInfo Info, ApiKeyInfo Old)?> RotateAsync(string id, TimeSpan grace, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        if ((await ListAsync(cancellationToken)).FirstOrDefault(k => k.Id == id) is not { } old || !old.IsActiveAt(now))
        {
            return null;
        }

        var (key, info) = await CreateAsync(old.Role, old.Name, old.ExpiresAt, cancellationToken);
        var until = now + grace;
        if (old.ExpiresAt is not { } expires || until < expires)
        {
            await using var connection = await OpenConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE apex_keys SET expires_at = @until WHERE id = @id";
            Add(command, "@until", until.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            Add(command, "@id", id);
            await command.ExecuteNonQueryAsync(cancellationToken);
            old = old with { ExpiresAt = until };
        }

        return (key, info, old);
    }

    /// <summary>Stores a key chosen elsewhere (the bootstrap admin key) when no key exists yet; true when stored.</summary>
    public async Task<bool> BootstrapAsync(string key, CancellationToken cancellationToken = default)
    {
        if (await CountAsync(cancellationToken) > 0)
        {
            return false;
        }

        // Silos of a new cluster may bootstrap at once: the first insert wins, the others change nothing.
        return await AddAsync(key, "bootstrap", Roles.Admin, "bootstrap admin", null, cancellationToken);
    }

    public async Task<ApiKeyInfo?> FindAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = Hash(key);
        // Only active keys are remembered by secret: an unknown or inactive one is looked up every time.
        var found = await CachedAsync(Convert.ToHexString(hash), "hash", hash, rememberInactive: false, cancellationToken);
        return found is not null && found.IsActiveAt(DateTimeOffset.UtcNow) ? found : null;
    }

    /// <summary>
    /// A key by id (active or not; null when unknown), at most <see cref="Fresh"/> old: a console session
    /// checks its key on every request, and a revoked key ends its sessions within that time. When the
    /// database cannot be reached, the last answer serves for up to <see cref="StaleIfUnreachable"/>.
    /// </summary>
    public Task<ApiKeyInfo?> FindByIdAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return CachedAsync("id:" + id, "id", id, rememberInactive: true, cancellationToken);
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>
    /// The key whose <paramref name="column"/> (hash or id) is <paramref name="value"/>, from the cache when
    /// fetched within <see cref="Fresh"/>, else from the database; when the database cannot be reached, the
    /// last answer serves for up to <see cref="StaleIfUnreachable"/>.
    /// </summary>
    private async Task<ApiKeyInfo?> CachedAsync(string entry, string column, object value, bool rememberInactive, CancellationToken cancellationToken)
    {
        var cached = _cache.Get<(ApiKeyInfo? Info, DateTime FetchedAt)?>(entry);
        if (cached is { } hit && DateTime.UtcNow - hit.FetchedAt < Fresh)
        {
            return hit.Info;
        }

        ApiKeyInfo? found;
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {InfoColumns} FROM apex_keys WHERE {column} = @value";
            Add(command, "@value", value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            found = await reader.ReadAsync(cancellationToken) ? ReadInfo(reader) : null;
        }
        catch (DbException) when (cached is { } stale)
        {
            return stale.Info;
        }

        if (rememberInactive || found is not null && found.IsActiveAt(DateTimeOffset.UtcNow))
        {
            _cache.Set<(ApiKeyInfo?, DateTime)?>(entry, (found, DateTime.UtcNow), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = StaleIfUnreachable });
        }
        else
        {
            _cache.Remove(entry);
        }

        return found;
    }

    private const string InfoColumns = "id, role, name, created_at, expires_at, revoked_at";

    private static ApiKeyInfo ReadInfo(DbDataReader reader)
    {
        static DateTimeOffset? At(DbDataReader r, int i) => r.IsDBNull(i) ? null : DateTimeOffset.Parse(r.GetString(i), System.Globalization.CultureInfo.InvariantCulture);
        return new ApiKeyInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), At(reader, 3)!.Value, At(reader, 4), At(reader, 5));
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM apex_keys";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<bool> AddAsync(string key, string id, string role, string name, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
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
        command.CommandText = "INSERT INTO apex_keys (id, hash, role, name, created_at, expires_at) VALUES (@id, @hash, @role, @name, @at, @expires) ON CONFLICT DO NOTHING";
        Add(command, "@id", id);
        Add(command, "@hash", Hash(key));
        Add(command, "@role", role);
        Add(command, "@name", name);
        Add(command, "@at", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Add(command, "@expires", expiresAt is { } at ? at.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture) : DBNull.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => Apex.Grains.Storage.Db.OpenAsync(_factory, _connectionString, cancellationToken);

    private static void Add(DbCommand command, string name, object value) => Apex.Grains.Storage.Db.Add(command, name, value);

    private static byte[] Hash(string key) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
