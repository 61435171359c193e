using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Apex.Grains.Webhooks;

/// <summary>
/// Moves the signal feed into the webhook outbox and sends what is due, every <see cref="WebhookOptions.Poll"/>.
/// Everything it knows is in the database (cursor, deliveries, attempts), so a new activation on any
/// silo carries on where the last one stopped; an attempt cut short by a crash is sent again with the
/// same delivery id. A host without a webhook store (a test cluster) does nothing.
/// </summary>
public sealed partial class WebhookDispatcherGrain(IOptions<WebhookOptions> options, ILogger<WebhookDispatcherGrain> logger, WebhookStore? store = null, WebhookSender? sender = null,
    WebhookMetrics? metrics = null, TimeProvider? time = null) : Grain, IWebhookDispatcherGrain
{
    private const int ExpandBatch = 500;
    private const int ExpandBatchesPerTick = 20;

    /// <summary>How long one tick keeps sending full rounds.</summary>
    private static readonly TimeSpan RoundsFor = TimeSpan.FromSeconds(10);

    private readonly WebhookOptions _settings = options.Value;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private DateTimeOffset _prunedAt;

    private readonly FailingReceivers _failing = new();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (store is not null && sender is not null)
        {
            this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(TimeSpan.Zero, _settings.Poll) { KeepAlive = true });
        }

        return Task.CompletedTask;
    }

    public Task EnsureRunningAsync() => Task.CompletedTask;

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = _time.GetUtcNow();
            for (var batch = 0; batch < ExpandBatchesPerTick && await store!.ExpandAsync(ExpandBatch, now, cancellationToken) == ExpandBatch; batch++)
            {
            }

            // A full round means more are due: keep sending (a backlog drains at the receivers' pace, not
            // one round per tick), but give the grain back now and then.
            var limit = _settings.Concurrency * 4;
            var started = _time.GetTimestamp();
            IReadOnlyList<DueDelivery> round;
            do
            {
                var at = _time.GetUtcNow();
                round = await store!.DueAsync(at, limit, _failing.Waiting(at), cancellationToken);
                // Sends run on the thread pool: each hands its outcome back here, and only this turn reads them.
                var sent = new System.Collections.Concurrent.ConcurrentQueue<(DueDelivery Delivery, DeliveryAttempt Attempt, DateTimeOffset At)>();
                await Parallel.ForEachAsync(_failing.Select(round), new ParallelOptions { MaxDegreeOfParallelism = _settings.Concurrency, CancellationToken = cancellationToken },
                    async (delivery, token) => sent.Enqueue((delivery, await sender!.SendAsync(delivery, token), _time.GetUtcNow())));
                // Recorded after the round: a crash before this sends the round again, under the same delivery ids.
                await store.RecordAttemptsAsync(sent.Select(s => Outcome(s.Delivery, s.Attempt, s.At)).ToList(), cancellationToken);
            }
            while (round.Count == limit && _time.GetElapsedTime(started) < RoundsFor);

            metrics?.ObservePending(await store.PendingCountAsync(cancellationToken));
            if (now - _prunedAt > TimeSpan.FromHours(1))
            {
                _prunedAt = now;
                var pruned = await store.PruneAsync(now - TimeSpan.FromDays(_settings.RetentionDays), cancellationToken);
                if (pruned > 0)
                {
                    LogPruned(logger, pruned, _settings.RetentionDays);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The database may be out of reach for now: everything is still there at the next tick.
            LogTickFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>What an attempt comes to: its next time (none once delivered or out of attempts), the receiver's state, the metric and the log.</summary>
    private RecordedAttempt Outcome(DueDelivery delivery, DeliveryAttempt attempt, DateTimeOffset at)
    {
        var attempts = delivery.Attempts + 1;
        DateTimeOffset? retryAt = attempt.Delivered || attempts >= _settings.MaxAttempts ? null : at + _settings.RetryDelay(attempts, Random.Shared.NextDouble());
        _failing.Record(delivery.SubscriptionId, attempt.Delivered, retryAt ?? at + _settings.RetryDelay(1, 0));
        metrics?.Attempted(attempt.Delivered ? WebhookDelivery.Delivered : retryAt is null ? WebhookDelivery.Failed : "retry");
        if (!attempt.Delivered)
        {
            LogAttemptFailed(logger, delivery.Id, attempts, attempt.Error ?? "", retryAt);
        }

        return new RecordedAttempt(delivery.Id, attempt, at, retryAt);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {Delivery} attempt {Attempt} failed ({Error}); next attempt at {RetryAt} (none: given up)")]
    private static partial void LogAttemptFailed(ILogger logger, string delivery, int attempt, string error, DateTimeOffset? retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook dispatch paused until the next tick ({Error}: {Reason})")]
    private static partial void LogTickFailed(ILogger logger, string error, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} webhook deliveries older than {Days} days")]
    private static partial void LogPruned(ILogger logger, int count, int days);
}
