using Apex.Grains.Training;

namespace Apex.Silo.Hosting;

/// <summary>
/// Wakes the trainer once grains can be placed here, so that its drift reminder is registered. The
/// trainer may live on another silo that is not placeable yet: the call is retried quietly for a while
/// instead of logging a placement failure with its stack trace.
/// </summary>
public sealed partial class TrainerStartup(IGrainFactory grains, PlacementReadiness placement, ILogger<TrainerStartup> logger) : BackgroundService
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await placement.WaitAsync(stoppingToken))
        {
            return;
        }

        var deadline = DateTime.UtcNow + GiveUpAfter;
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await grains.GetGrain<ITrainerGrain>(0).GetDriftAsync();
                return;
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException or SiloUnavailableException && DateTime.UtcNow < deadline)
            {
                LogNotYet(logger, attempt, ex.Message);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The trainer wakes with its reminder or the first training call anyway.
                LogGaveUp(logger, ex.GetType().Name, ex.Message);
                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The trainer cannot be reached yet (try {Attempt}): {Reason}")]
    private static partial void LogNotYet(ILogger logger, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The trainer could not be woken at start ({Error}: {Reason}); it wakes with its first call")]
    private static partial void LogGaveUp(ILogger logger, string error, string reason);
}
