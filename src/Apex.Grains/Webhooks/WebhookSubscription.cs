using Apex.Grains.Signals;

namespace Apex.Grains.Webhooks;

/// <summary>
/// A webhook subscription: the feed's events of <see cref="Types"/> on <see cref="Platforms"/> (empty:
/// every platform, and events on none such as a promoted model) recorded after <see cref="FromSeq"/>
/// are delivered to <see cref="Url"/>. Its secret is shown once, at creation, and never listed.
/// </summary>
public sealed record WebhookSubscription(string Id, string Url, IReadOnlyList<string> Types, IReadOnlyList<string> Platforms, string Description, DateTimeOffset CreatedAt, long FromSeq)
{
    /// <summary>Whether <paramref name="e"/> is one this subscription receives.</summary>
    public bool Wants(SignalEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Seq > FromSeq && Types.Contains(e.Type, StringComparer.Ordinal)
            && (Platforms.Count == 0 || (e.Platform is { } platform && Platforms.Contains(platform, StringComparer.Ordinal)));
    }
}

/// <summary>One delivery of one event to one subscription, as <c>GET /subscriptions/{id}/deliveries</c> shows it.</summary>
public sealed record WebhookDelivery(
    string Id,
    string SubscriptionId,
    long EventId,
    string Type,
    string Status,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? LastAttemptAt,
    int? LastStatusCode,
    string? LastError,
    DateTimeOffset? DeliveredAt)
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";

    public static readonly IReadOnlyList<string> Statuses = [Pending, Delivered, Failed];
}

/// <summary>A delivery due now, with what sending it takes: the secrets that sign it (two during a rotation's grace).</summary>
public sealed record DueDelivery(string Id, string SubscriptionId, string Url, IReadOnlyList<string> Secrets, string Type, string Body, int Attempts);

/// <summary>What one attempt came to: a 2xx status (delivered), or a status or error to retry on.</summary>
public sealed record DeliveryAttempt(bool Delivered, int? StatusCode, string? Error);

/// <summary>An attempt to record: its delivery, outcome and time, and when to try again (null: given up, unless delivered).</summary>
public sealed record RecordedAttempt(string Id, DeliveryAttempt Attempt, DateTimeOffset At, DateTimeOffset? RetryAt);
