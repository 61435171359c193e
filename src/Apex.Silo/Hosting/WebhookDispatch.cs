using Apex.Grains.Webhooks;

namespace Apex.Silo.Hosting;

/// <summary>
/// Wakes the webhook dispatcher from every silo every few seconds, so that deliveries go on within
/// that time after a restart or after the dispatcher's silo dies. The dispatcher keeps itself active;
/// a call to a running one costs nothing.
/// </summary>
public sealed partial class WebhookDispatch(IGrainFactory grains, PlacementReadiness placement, ILogger<WebhookDispatch> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await placement.WaitAsync(stoppingToken))
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                await grains.GetGrain<IWebhookDispatcherGrain>(0).EnsureRunningAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A placement in the middle of a membership change: the next wake-up places it.
                LogNotYet(logger, ex.GetType().Name, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The webhook dispatcher could not be woken this time ({Error}: {Reason})")]
    private static partial void LogNotYet(ILogger logger, string error, string reason);
}
