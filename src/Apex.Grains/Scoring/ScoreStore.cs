using System.Data.Common;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Grains.Scoring;

/// <summary>
/// Scoring results in the profile's database. Embeddings: one row per track, the floats as one
/// little-endian float32 blob (segments × layers × hidden), with the encoder that made them.
/// Predictions: each scored track's popularity predictions, which the platform's population grain
/// reloads on activation. Shared code for SQLite (<c>scores.db</c> in the data folder) and PostgreSQL
/// (<c>apex_embeddings</c> with bytea, <c>apex_predictions</c>).
/// </summary>
public sealed class ScoreStore : IScoreStore
{
    private readonly DbProviderFactory _factory;
    private readonly string _connectionString;
    private readonly string _upsert;
    private readonly string _upsertPrediction;

    private ScoreStore(DbProviderFactory factory, string connectionString, string upsert, string upsertPrediction)
    {
        _factory = factory;
        _connectionString = connectionString;
        _upsert = upsert;
        _upsertPrediction = upsertPrediction;
    }

    private const string PredictionColumns = "track_id, platform, created_at, model_version, model_label, streams, likes";

    private const string Columns = "track_id, encoder, segments, layers, hidden, duration_seconds, silo, data";

    public static async Task<ScoreStore> OpenSqliteAsync(string databasePath, CancellationToken cancellationToken = default)
    {
        var store = CreateSqlite(databasePath);
        await Storage.SqliteSchema.ApplyAsync(store._connectionString, Storage.LocalStores.Scores, cancellationToken);
        return store;
    }

    /// <summary>The local store in <paramref name="databasePath"/>, without I/O (the host applies every local schema at start).</summary>
    public static ScoreStore CreateSqlite(string databasePath) =>
        new(SqliteFactory.Instance, Storage.SqliteGrainStorage.ConnectionString(databasePath),
            $"INSERT OR REPLACE INTO apex_embeddings ({Columns}) VALUES (@t, @e, @s, @l, @h, @d, @silo, @data)",
            $"INSERT OR REPLACE INTO apex_predictions ({PredictionColumns}) VALUES (@t, @p, @c, @v, @label, @s, @l)");

    /// <summary>The cluster's store: the table <c>apex db init</c> creates.</summary>
    public static ScoreStore OpenPostgres(string connectionString) =>
        new(NpgsqlFactory.Instance, connectionString,
            $"INSERT INTO apex_embeddings ({Columns}) VALUES (@t, @e, @s, @l, @h, @d, @silo, @data) " +
            "ON CONFLICT (track_id) DO UPDATE SET encoder = excluded.encoder, segments = excluded.segments, layers = excluded.layers, " +
            "hidden = excluded.hidden, duration_seconds = excluded.duration_seconds, silo = excluded.silo, data = excluded.data",
            $"INSERT INTO apex_predictions ({PredictionColumns}) VALUES (@t, @p, @c, @v, @label, @s, @l) " +
            "ON CONFLICT (track_id) DO UPDATE SET platform = excluded.platform, created_at = excluded.created_at, model_version = excluded.model_version, " +
            "model_label = excluded.model_label, streams = excluded.streams, likes = excluded.likes");

    public static string Reference(string trackId) => "embeddings:" + trackId;

    public async Task<string> SaveAsync(string trackId, EmbedOutcome embedding, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        var values = embedding.Values ?? throw new ArgumentException("An embedding without values cannot be stored.", nameof(embedding));
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = _upsert;
        Add(command, "@t", trackId);
        Add(command, "@e", embedding.Encoder);
        Add(command, "@s", embedding.Segments);
        Add(command, "@l", embedding.Layers);
        Add(command, "@h", embedding.Hidden);
        Add(command, "@d", embedding.DurationSeconds);
        Add(command, "@silo", embedding.Silo);
        Add(command, "@data", MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
        return Reference(trackId);
    }

    public async Task<EmbedOutcome?> LoadAsync(string trackId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM apex_embeddings WHERE track_id = @t";
        Add(command, "@t", trackId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var bytes = (byte[])reader.GetValue(7);
        var values = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        return new EmbedOutcome(EmbedStatus.Embedded, null, reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4), values, reader.GetString(1), reader.GetString(6), reader.GetDouble(5));
    }

    public async Task SavePredictionAsync(string platform, TrackPrediction prediction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = _upsertPrediction;
        Add(command, "@t", prediction.TrackId);
        Add(command, "@p", platform);
        Add(command, "@c", prediction.CreatedAt.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Add(command, "@v", prediction.ModelVersion);
        Add(command, "@label", (object?)prediction.ModelLabel ?? DBNull.Value);
        Add(command, "@s", prediction.Streams);
        Add(command, "@l", prediction.Likes);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<TrackPrediction>> LoadPredictionsAsync(string platform, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {PredictionColumns} FROM apex_predictions WHERE platform = @p";
        Add(command, "@p", platform);
        var predictions = new List<TrackPrediction>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            predictions.Add(new TrackPrediction(
                reader.GetString(0), DateTimeOffset.Parse(reader.GetString(2), System.Globalization.CultureInfo.InvariantCulture),
                reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetDouble(5), reader.GetDouble(6)));
        }

        return predictions;
    }

    public async Task<IReadOnlyList<string>> PlatformsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT platform FROM apex_predictions ORDER BY platform";
        var platforms = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            platforms.Add(reader.GetString(0));
        }

        return platforms;
    }

    private Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => Storage.Db.OpenAsync(_factory, _connectionString, cancellationToken);

    private static void Add(DbCommand command, string name, object value) => Storage.Db.Add(command, name, value);
}
