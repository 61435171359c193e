namespace Apex.Grains.Webhooks;

/// <summary>
/// Which subscriptions' receivers are failing, and until when they wait. A failing receiver is probed
/// by one delivery at a time on the backoff of its last failure; the rest of its deliveries wait
/// (their attempts not spent) instead of each timing out against it, and the others are not held up.
/// One success and it takes its whole backlog again. Not thread-safe: the dispatcher grain owns it.
/// </summary>
public sealed class FailingReceivers
{
    private readonly Dictionary<string, DateTimeOffset> _waitUntil = new(StringComparer.Ordinal);

    /// <summary>Subscriptions to leave out at <paramref name="now"/>: failing, and not due for a probe yet.</summary>
    public IReadOnlyList<string> Waiting(DateTimeOffset now) => _waitUntil.Where(f => f.Value > now).Select(f => f.Key).ToList();

    /// <summary>What to send of <paramref name="due"/> (oldest first): everything of healthy receivers, one delivery per failing one.</summary>
    public IReadOnlyList<DueDelivery> Select(IEnumerable<DueDelivery> due)
    {
        var probed = new HashSet<string>(StringComparer.Ordinal);
        return due.Where(d => !_waitUntil.ContainsKey(d.SubscriptionId) || probed.Add(d.SubscriptionId)).ToList();
    }

    /// <summary>Records an attempt's outcome; a failed one makes its receiver wait until <paramref name="retryAt"/>.</summary>
    public void Record(string subscriptionId, bool delivered, DateTimeOffset retryAt)
    {
        if (delivered)
        {
            _waitUntil.Remove(subscriptionId);
        }
        else
        {
            _waitUntil[subscriptionId] = retryAt;
        }
    }
}
