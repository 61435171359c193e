using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Apex.Grains.Signals;
using Apex.Grains.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Grains.Webhooks;

/// <summary>
/// Webhook subscriptions and their outbox, in the same database as the signal feed (SQLite
/// <c>scores.db</c>, PostgreSQL), so that turning feed events into deliveries and moving the
/// dispatcher's cursor past them is one transaction: an event is queued for every subscriber exactly
/// once, whatever stops the dispatcher. Deliveries are written by <see cref="WebhookDispatcherGrain"/>.
/// </summary>
public sealed class WebhookStore
{
    private const string DeliveryColumns = "id, subscription_id, seq, type, status, attempts, created_at, next_at, last_attempt_at, last_status, last_error, delivered_at";
    private const string SubscriptionColumns = "id, url, types, platforms, description, created_at, from_seq";

    private readonly DbProviderFactory _factory;
    private readonly string _connectionString;

    private WebhookStore(DbProviderFactory factory, string connectionString)
    {
        _factory = factory;
        _connectionString = connectionString;
    }

    /// <summary>The local store in <paramref name="databasePath"/> (the score store's file), without I/O.</summary>
    public static WebhookStore CreateSqlite(string databasePath) => new(SqliteFactory.Instance, SqliteGrainStorage.ConnectionString(databasePath));

    public static WebhookStore OpenPostgres(string connectionString) => new(NpgsqlFactory.Instance, connectionString);

    /// <summary>
    /// Records a subscription to the events recorded from now on and answers it with its signing secret
    /// (32 random bytes, base64url, prefixed <c>whsec_</c>), which is never shown again.
    /// </summary>
    public async Task<(WebhookSubscription Subscription, string Secret)> CreateSubscriptionAsync(string url, IReadOnlyList<string> types, IReadOnlyList<string> platforms, string description,
        DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(platforms);
        var id = "sub_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = NewSecret();
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = Db.Command(connection, transaction,
            $"INSERT INTO apex_webhook_subscriptions ({SubscriptionColumns}, secret) SELECT @id, @url, @types, @platforms, @description, @at, COALESCE(MAX(seq), 0), @secret FROM apex_signals RETURNING from_seq",
            ("@id", id), ("@url", url), ("@types", string.Join(',', types)), ("@platforms", string.Join(',', platforms)), ("@description", description), ("@at", now.ToUnixTimeMilliseconds()), ("@secret", secret));
        var from = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        await transaction.CommitAsync(cancellationToken);
        return (new WebhookSubscription(id, url, types, platforms, description, DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()), from), secret);
    }

    /// <summary>Every subscription, oldest first.</summary>
    public async Task<IReadOnlyList<WebhookSubscription>> ListSubscriptionsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadSubscriptionsAsync(connection, null, cancellationToken);
    }

    public async Task<WebhookSubscription?> GetSubscriptionAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null, $"SELECT {SubscriptionColumns} FROM apex_webhook_subscriptions WHERE id = @id", ("@id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Subscription(reader) : null;
    }

    /// <summary>Deletes a subscription and its deliveries (pending ones are not sent); false when there is none.</summary>
    public async Task<bool> DeleteSubscriptionAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var deleteSubscription = Db.Command(connection, transaction, "DELETE FROM apex_webhook_subscriptions WHERE id = @id", ("@id", id));
        var deleted = await deleteSubscription.ExecuteNonQueryAsync(cancellationToken) > 0;
        await using var deleteDeliveries = Db.Command(connection, transaction, "DELETE FROM apex_webhook_deliveries WHERE subscription_id = @id", ("@id", id));
        await deleteDeliveries.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    /// <summary>
    /// Turns up to <paramref name="limit"/> feed events after the cursor into a pending delivery for each
    /// subscription that wants them, and moves the cursor past them, in one transaction. Answers how many
    /// events it read (fewer than the limit: the feed is drained).
    /// </summary>
    public async Task<int> ExpandAsync(int limit, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var subscriptions = await ReadSubscriptionsAsync(connection, transaction, cancellationToken);
        if (subscriptions.Count == 0)
        {
            return 0;
        }

        await using var cursorCommand = Db.Command(connection, transaction, "SELECT seq FROM apex_webhook_cursor WHERE id = 0");
        var cursor = await cursorCommand.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
        // Events before every subscription began are nobody's: start at the earliest one that wants any.
        var after = Math.Max(cursor, subscriptions.Min(s => s.FromSeq));
        var events = new List<SignalEvent>();
        await using (var read = Db.Command(connection, transaction, $"SELECT {SignalFeed.Columns} FROM apex_signals WHERE seq > @after ORDER BY seq LIMIT @limit",
            ("@after", after), ("@limit", limit)))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                events.Add(SignalFeed.ReadEvent(reader));
            }
        }

        if (events.Count == 0)
        {
            return 0;
        }

        await using (var insert = Db.Command(connection, transaction,
            "INSERT INTO apex_webhook_deliveries (id, subscription_id, seq, type, body, status, attempts, next_at, created_at) VALUES (@id, @subscription, @seq, @type, @body, 'pending', 0, @at, @at) ON CONFLICT (id) DO NOTHING",
            ("@id", ""), ("@subscription", ""), ("@seq", 0L), ("@type", ""), ("@body", ""), ("@at", now.ToUnixTimeMilliseconds())))
        {
            foreach (var e in events)
            {
                foreach (var subscription in subscriptions.Where(s => s.Wants(e)))
                {
                    var id = DeliveryId(subscription.Id, e.Seq);
                    insert.Parameters[0].Value = id;
                    insert.Parameters[1].Value = subscription.Id;
                    insert.Parameters[2].Value = e.Seq;
                    insert.Parameters[3].Value = e.Type;
                    insert.Parameters[4].Value = Body(id, subscription.Id, e);
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }

        await using (var move = Db.Command(connection, transaction,
            "INSERT INTO apex_webhook_cursor (id, seq) VALUES (0, @seq) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq", ("@seq", events[^1].Seq)))
        {
            await move.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return events.Count;
    }

    /// <summary>Up to <paramref name="limit"/> pending deliveries whose time has come, the longest waiting first, of subscriptions other than <paramref name="excluded"/>.</summary>
    public async Task<IReadOnlyList<DueDelivery>> DueAsync(DateTimeOffset now, int limit, IReadOnlyCollection<string>? excluded = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null,
            "SELECT d.id, d.subscription_id, s.url, s.secret, d.type, d.body, d.attempts, CASE WHEN s.previous_until > @now THEN s.previous_secret END "
            + "FROM apex_webhook_deliveries d JOIN apex_webhook_subscriptions s ON s.id = d.subscription_id "
            + $"WHERE d.status = 'pending' AND d.next_at <= @now{Excluding(excluded)} ORDER BY d.next_at LIMIT @limit", [("@now", now.ToUnixTimeMilliseconds()), ("@limit", limit), .. Parameters(excluded)]);
        var due = new List<DueDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string[] secrets = reader.IsDBNull(7) ? [reader.GetString(3)] : [reader.GetString(3), reader.GetString(7)];
            due.Add(new DueDelivery(reader.GetString(0), reader.GetString(1), reader.GetString(2), secrets, reader.GetString(4), reader.GetString(5), reader.GetInt32(6)));
        }

        return due;
    }

    /// <summary>
    /// Records a round's attempts in one transaction (one sync to the disk, not one per delivery): each
    /// delivered, due again at its retry time, or failed for good without one. A delivery no longer
    /// pending is left as it is.
    /// </summary>
    public async Task RecordAttemptsAsync(IReadOnlyList<RecordedAttempt> attempts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        if (attempts.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = Db.Command(connection, transaction,
            "UPDATE apex_webhook_deliveries SET status = @status, attempts = attempts + 1, last_attempt_at = @at, last_status = @code, last_error = @error, next_at = @next, delivered_at = @delivered "
            + "WHERE id = @id AND status = 'pending'",
            ("@status", ""), ("@at", 0L), ("@code", DBNull.Value), ("@error", DBNull.Value), ("@next", 0L), ("@delivered", DBNull.Value), ("@id", ""));
        foreach (var (id, attempt, at, retryAt) in attempts)
        {
            command.Parameters[0].Value = attempt.Delivered ? WebhookDelivery.Delivered : retryAt is null ? WebhookDelivery.Failed : WebhookDelivery.Pending;
            command.Parameters[1].Value = at.ToUnixTimeMilliseconds();
            command.Parameters[2].Value = (object?)attempt.StatusCode ?? DBNull.Value;
            command.Parameters[3].Value = (object?)attempt.Error ?? DBNull.Value;
            command.Parameters[4].Value = (retryAt ?? at).ToUnixTimeMilliseconds();
            command.Parameters[5].Value = attempt.Delivered ? at.ToUnixTimeMilliseconds() : DBNull.Value;
            command.Parameters[6].Value = id;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>A subscription's deliveries, newest event first, of one status (null: any), before event <paramref name="beforeEventId"/> when given.</summary>
    public async Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string subscriptionId, string? status, int limit, long? beforeEventId = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null,
            $"SELECT {DeliveryColumns} FROM apex_webhook_deliveries WHERE subscription_id = @subscription AND (@status = '' OR status = @status) AND seq < @before ORDER BY seq DESC LIMIT @limit",
            ("@subscription", subscriptionId), ("@status", status ?? ""), ("@before", beforeEventId ?? long.MaxValue), ("@limit", limit));
        var deliveries = new List<WebhookDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var pending = reader.GetString(4) == WebhookDelivery.Pending;
            deliveries.Add(new WebhookDelivery(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), reader.GetInt32(5),
                Time(reader, 6)!.Value, pending ? Time(reader, 7) : null, Time(reader, 8), reader.IsDBNull(9) ? null : reader.GetInt32(9), reader.IsDBNull(10) ? null : reader.GetString(10), Time(reader, 11)));
        }

        return deliveries;
    }

    /// <summary>Sends a subscription's delivery again from the start of its retries (it may have been delivered or failed); false when there is none.</summary>
    public async Task<bool> RedeliverAsync(string subscriptionId, string deliveryId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null,
            "UPDATE apex_webhook_deliveries SET status = 'pending', attempts = 0, next_at = @now, delivered_at = NULL WHERE id = @id AND subscription_id = @subscription",
            ("@now", now.ToUnixTimeMilliseconds()), ("@id", deliveryId), ("@subscription", subscriptionId));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>
    /// Gives a subscription a new secret and answers it; the previous one keeps signing beside it (a
    /// second v1 in the header) for <paramref name="grace"/>, so receivers can switch without a gap.
    /// Null when there is no such subscription.
    /// </summary>
    public async Task<string?> RotateSecretAsync(string id, TimeSpan grace, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var secret = NewSecret();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null,
            "UPDATE apex_webhook_subscriptions SET previous_secret = secret, previous_until = @until, secret = @secret WHERE id = @id",
            ("@until", (now + grace).ToUnixTimeMilliseconds()), ("@secret", secret), ("@id", id));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0 ? secret : null;
    }

    /// <summary>Deliveries waiting to be sent, across subscriptions.</summary>
    public async Task<long> PendingCountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null, "SELECT COUNT(*) FROM apex_webhook_deliveries WHERE status = 'pending'");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>Deletes delivered and failed deliveries created before <paramref name="cutoff"/>; answers how many.</summary>
    public async Task<int> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Db.Command(connection, null, "DELETE FROM apex_webhook_deliveries WHERE status <> 'pending' AND created_at < @cutoff", ("@cutoff", cutoff.ToUnixTimeMilliseconds()));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The id a receiver deduplicates on: the same for every attempt, on every silo.</summary>
    public static string DeliveryId(string subscriptionId, long eventId) => string.Create(CultureInfo.InvariantCulture, $"{subscriptionId}-{eventId}");

    /// <summary>The JSON a delivery carries: its ids, the event's type, time, platform and track, and the event's body as <c>data</c>.</summary>
    public static string Body(string deliveryId, string subscriptionId, SignalEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("delivery_id", deliveryId);
            json.WriteString("subscription_id", subscriptionId);
            json.WriteNumber("event_id", e.Seq);
            json.WriteString("type", e.Type);
            json.WriteString("at", e.At);
            json.WriteString("platform", e.Platform);
            json.WriteString("track_id", e.TrackId);
            json.WritePropertyName("data");
            json.WriteRawValue(e.Data);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Excluding(IReadOnlyCollection<string>? ids) =>
        ids is { Count: > 0 } ? $" AND d.subscription_id NOT IN ({string.Join(", ", ids.Select((_, i) => $"@x{i}"))})" : "";

    private static IEnumerable<(string Name, object Value)> Parameters(IReadOnlyCollection<string>? ids) =>
        (ids ?? []).Select((id, i) => ($"@x{i}", (object)id));

    private static async Task<IReadOnlyList<WebhookSubscription>> ReadSubscriptionsAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = Db.Command(connection, transaction, $"SELECT {SubscriptionColumns} FROM apex_webhook_subscriptions ORDER BY created_at, id");
        var subscriptions = new List<WebhookSubscription>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            subscriptions.Add(Subscription(reader));
        }

        return subscriptions;
    }

    private static WebhookSubscription Subscription(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), List(reader.GetString(2)), List(reader.GetString(3)), reader.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), reader.GetInt64(6));

    private static string[] List(string joined) => joined.Split(',', StringSplitOptions.RemoveEmptyEntries);

    private static DateTimeOffset? Time(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    private Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => Db.OpenAsync(_factory, _connectionString, cancellationToken);
}
