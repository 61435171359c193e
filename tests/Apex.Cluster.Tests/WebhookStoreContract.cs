using System.Text.Json;
using Apex.Grains.Signals;
using Apex.Grains.Webhooks;

namespace Apex.Cluster.Tests;

/// <summary>What the webhook outbox promises, checked on each database (the subclasses).</summary>
public abstract class WebhookStoreContract
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<(SignalFeed Feed, WebhookStore Store)> OpenAsync();

    private static SignalEvent Event(string type, string key, string? platform = "suno") => new(0, type, key, platform, platform is null ? null : "t-" + key, Now, $$"""{"key":"{{key}}"}""");

    [Fact]
    public async Task Each_wanted_event_recorded_after_a_subscription_becomes_one_pending_delivery_once()
    {
        var (feed, store) = await OpenAsync();
        await feed.AppendAsync([Event(SignalEvent.Breakout, "before")]);
        var (suno, secret) = await store.CreateSubscriptionAsync("https://hooks.example.com/a", [SignalEvent.Breakout, SignalEvent.Scored], ["suno"], "suno hits", Now);
        var (models, _) = await store.CreateSubscriptionAsync("https://hooks.example.com/b", [SignalEvent.ModelPromoted], [], "", Now.AddSeconds(1));
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(await feed.LastSeqAsync(), suno.FromSeq);
        var read = (await store.GetSubscriptionAsync(suno.Id))!;
        Assert.Equal((suno.Id, suno.Url, "breakout,scored", "suno", "suno hits", Now, suno.FromSeq),
            (read.Id, read.Url, string.Join(',', read.Types), string.Join(',', read.Platforms), read.Description, read.CreatedAt, read.FromSeq));
        Assert.Equal([suno.Id, models.Id], (await store.ListSubscriptionsAsync()).Select(s => s.Id));

        await feed.AppendAsync([Event(SignalEvent.Breakout, "b1"), Event(SignalEvent.Scored, "s1", "udio"), Event(SignalEvent.ModelPromoted, "m1", null), Event(SignalEvent.Scored, "s2")]);
        var events = await feed.ReadAfterAsync(suno.FromSeq, 100);
        Assert.Equal(2, await store.ExpandAsync(2, Now));
        Assert.Equal(2, await store.ExpandAsync(100, Now));
        Assert.Equal(0, await store.ExpandAsync(100, Now));

        var delivered = await store.ListDeliveriesAsync(suno.Id, null, 100);
        Assert.Equal([WebhookStore.DeliveryId(suno.Id, events[3].Seq), WebhookStore.DeliveryId(suno.Id, events[0].Seq)], delivered.Select(d => d.Id));
        Assert.All(delivered, d => Assert.Equal((WebhookDelivery.Pending, 0, (DateTimeOffset?)Now), (d.Status, d.Attempts, d.NextAttemptAt)));
        Assert.Equal(["m1"], (await store.ListDeliveriesAsync(models.Id, null, 100)).Select(d => events.Single(e => e.Seq == d.EventId).Key));

        // A subscription made now gets nothing recorded before it, even if the cursor is behind.
        var (late, _) = await store.CreateSubscriptionAsync("https://hooks.example.com/c", SignalEvent.Types, [], "", Now);
        Assert.Equal(0, await store.ExpandAsync(100, Now));
        Assert.Empty(await store.ListDeliveriesAsync(late.Id, null, 100));

        // What is sent: the event's ids, type, platform and body, and the subscription's URL and secret.
        var due = (await store.DueAsync(Now, 100)).Single(d => d.Id == delivered[1].Id);
        Assert.Equal(("https://hooks.example.com/a", secret, SignalEvent.Breakout, 0), (due.Url, Assert.Single(due.Secrets), due.Type, due.Attempts));
        var body = JsonDocument.Parse(due.Body).RootElement;
        Assert.Equal((due.Id, suno.Id, events[0].Seq, "breakout", "suno", "t-b1", "b1"), (body.GetProperty("delivery_id").GetString(), body.GetProperty("subscription_id").GetString(),
            body.GetProperty("event_id").GetInt64(), body.GetProperty("type").GetString(), body.GetProperty("platform").GetString(), body.GetProperty("track_id").GetString(),
            body.GetProperty("data").GetProperty("key").GetString()));

        // Deliveries of excluded subscriptions (failing receivers) are left for later.
        Assert.DoesNotContain(await store.DueAsync(Now, 100, [suno.Id]), d => d.SubscriptionId == suno.Id);
        Assert.Contains(await store.DueAsync(Now, 100, [suno.Id]), d => d.SubscriptionId == models.Id);

        // A rotated secret signs at once; the previous one beside it until the grace ends.
        var rotated = await store.RotateSecretAsync(suno.Id, TimeSpan.FromHours(1), Now);
        Assert.NotNull(rotated);
        Assert.NotEqual(secret, rotated);
        Assert.Equal([rotated, secret], (await store.DueAsync(Now.AddMinutes(59), 100)).First(d => d.SubscriptionId == suno.Id).Secrets);
        Assert.Equal([rotated], (await store.DueAsync(Now.AddMinutes(61), 100)).First(d => d.SubscriptionId == suno.Id).Secrets);
        Assert.Null(await store.RotateSecretAsync("sub_none", TimeSpan.Zero, Now));
    }

    [Fact]
    public async Task Attempts_deliver_retry_later_or_give_up_and_deliveries_can_be_listed_sent_again_pruned_and_deleted()
    {
        var (feed, store) = await OpenAsync();
        var (subscription, _) = await store.CreateSubscriptionAsync("https://hooks.example.com/a", [SignalEvent.Scored], [], "", Now);
        await feed.AppendAsync([Event(SignalEvent.Scored, "s1"), Event(SignalEvent.Scored, "s2"), Event(SignalEvent.Scored, "s3")]);
        Assert.Equal(3, await store.ExpandAsync(100, Now));
        var ids = (await store.ListDeliveriesAsync(subscription.Id, null, 100)).Select(d => d.Id).Reverse().ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), (await store.DueAsync(Now, 100)).Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.Equal(3, await store.PendingCountAsync());

        // A failure waits for its retry time; a success is delivered; a last failure is given up.
        await store.RecordAttemptsAsync([new RecordedAttempt(ids[0], new DeliveryAttempt(false, 500, "the receiver answered 500"), Now, Now.AddSeconds(10))]);
        Assert.DoesNotContain(ids[0], (await store.DueAsync(Now.AddSeconds(5), 100)).Select(d => d.Id));
        var retry = (await store.DueAsync(Now.AddSeconds(11), 100)).Single(d => d.Id == ids[0]);
        Assert.Equal(1, retry.Attempts);
        await store.RecordAttemptsAsync([new RecordedAttempt(ids[0], new DeliveryAttempt(true, 204, null), Now.AddSeconds(11), null)]);
        await store.RecordAttemptsAsync([new RecordedAttempt(ids[1], new DeliveryAttempt(false, null, "could not connect"), Now, null)]);
        // An attempt recorded on a delivery no longer pending (a duplicate dispatcher) changes nothing.
        await store.RecordAttemptsAsync([new RecordedAttempt(ids[1], new DeliveryAttempt(true, 200, null), Now.AddSeconds(1), null)]);

        var byId = (await store.ListDeliveriesAsync(subscription.Id, null, 100)).ToDictionary(d => d.Id);
        Assert.Equal((WebhookDelivery.Delivered, 2, (int?)204, (string?)null, (DateTimeOffset?)Now.AddSeconds(11), (DateTimeOffset?)null),
            (byId[ids[0]].Status, byId[ids[0]].Attempts, byId[ids[0]].LastStatusCode, byId[ids[0]].LastError, byId[ids[0]].DeliveredAt, byId[ids[0]].NextAttemptAt));
        Assert.Equal((WebhookDelivery.Failed, 1, (int?)null, "could not connect", (DateTimeOffset?)null),
            (byId[ids[1]].Status, byId[ids[1]].Attempts, byId[ids[1]].LastStatusCode, byId[ids[1]].LastError, byId[ids[1]].DeliveredAt));
        Assert.Equal([ids[2]], (await store.DueAsync(Now.AddDays(1), 100)).Select(d => d.Id));
        Assert.Equal(1, await store.PendingCountAsync());

        // Listing: by status, newest first, paged back by event id.
        Assert.Equal([ids[1]], (await store.ListDeliveriesAsync(subscription.Id, WebhookDelivery.Failed, 100)).Select(d => d.Id));
        Assert.Equal([ids[2], ids[1]], (await store.ListDeliveriesAsync(subscription.Id, null, 2)).Select(d => d.Id));
        Assert.Equal([ids[0]], (await store.ListDeliveriesAsync(subscription.Id, null, 2, byId[ids[1]].EventId)).Select(d => d.Id));

        // Sent again: pending from its first attempt, due now.
        Assert.True(await store.RedeliverAsync(subscription.Id, ids[1], Now.AddSeconds(20)));
        Assert.False(await store.RedeliverAsync(subscription.Id, "sub_none-1", Now));
        Assert.Equal((WebhookDelivery.Pending, 0), (await store.ListDeliveriesAsync(subscription.Id, WebhookDelivery.Pending, 100)).Where(d => d.Id == ids[1]).Select(d => (d.Status, d.Attempts)).Single());

        // Pruning takes only finished deliveries; deleting the subscription takes the rest.
        Assert.Equal(1, await store.PruneAsync(Now.AddDays(1)));
        Assert.Equal(2, (await store.ListDeliveriesAsync(subscription.Id, null, 100)).Count);
        Assert.True(await store.DeleteSubscriptionAsync(subscription.Id));
        Assert.False(await store.DeleteSubscriptionAsync(subscription.Id));
        Assert.Null(await store.GetSubscriptionAsync(subscription.Id));
        Assert.Empty(await store.ListDeliveriesAsync(subscription.Id, null, 100));
        Assert.Empty(await store.DueAsync(Now.AddDays(1), 100));
    }
}
