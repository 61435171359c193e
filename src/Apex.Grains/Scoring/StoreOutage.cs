using Apex.Grains.Ingest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Apex.Grains.Scoring;

/// <summary>
/// Whether this silo's database is out of reach, for the work that can wait for it (queued tracks). The
/// first failure a track reports closes the gate at once, so the other queued tracks do no I/O; then one
/// ping per silo, backing off exponentially with jitter, finds when the database answers again and opens
/// it. The outage is logged once when confirmed and once when over, not once per track.
/// </summary>
public sealed partial class StoreOutage(IIngestLog log, TimeProvider time, ILogger<StoreOutage> logger) : BackgroundService
{
    /// <summary>The first pause before a ping; it doubles up to <see cref="MaxProbeInterval"/>.</summary>
    public static readonly TimeSpan FirstProbe = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxProbeInterval = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _reported = new(0, 1);
    private volatile string? _reason;

    /// <summary>True from a reported failure until a ping succeeds.</summary>
    public bool IsDown => _reason is not null;

    /// <summary>What failed, while <see cref="IsDown"/>.</summary>
    public string? Reason => _reason;

    /// <summary>A store failed for lack of the database; closes the gate until a ping succeeds.</summary>
    public void Report(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Interlocked.CompareExchange(ref _reason, $"{exception.GetType().Name}: {exception.Message}", null) is null)
        {
            try
            {
                _reported.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _reported.WaitAsync(stoppingToken);
                await ProbeUntilBackAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ProbeUntilBackAsync(CancellationToken stoppingToken)
    {
        var started = time.GetUtcNow();
        var confirmed = false;
        for (var attempt = 0; ; attempt++)
        {
            // Jitter (0.5× to 1.5×): silos that lost the same database do not ping it in step.
            var pause = Math.Min(MaxProbeInterval.TotalSeconds, FirstProbe.TotalSeconds * Math.Pow(2, Math.Min(attempt, 16)));
            await Task.Delay(TimeSpan.FromSeconds(pause * (0.5 + Random.Shared.NextDouble())), time, stoppingToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(PingTimeout);
            try
            {
                await log.PingAsync(timeout.Token);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                if (!confirmed)
                {
                    LogDown(logger, _reason ?? ex.Message);
                    confirmed = true;
                }

                continue;
            }

            if (confirmed)
            {
                LogBack(logger, (time.GetUtcNow() - started).TotalSeconds);
            }

            _reason = null;
            return;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database is unreachable; queued tracks on this silo wait for it without I/O ({Reason})")]
    private static partial void LogDown(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The database answers again after {Seconds:0.0} s; queued tracks resume")]
    private static partial void LogBack(ILogger logger, double seconds);
}
