using Apex.Grains.Scoring;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Apex.Grains.Backfill;

/// <summary>
/// Tells the cluster's backfill how many tracks registered live queue on this silo, every admission
/// interval while there are any and once when they are gone, so the backfill gives way to live tracks
/// wherever their grains are active. Quiet (no calls) while this silo has none.
/// </summary>
public sealed partial class LiveQueueReporter(
    IGrainFactory grains, ScoringWaiters waiters, ILocalSiloDetails silo, IOptions<BackfillOptions> options, TimeProvider time, ILogger<LiveQueueReporter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reported = 0;
        using var ticks = new PeriodicTimer(options.Value.Interval, time);
        while (await ticks.WaitForNextTickAsync(stoppingToken))
        {
            var queued = waiters.LiveQueued();
            if (queued == 0 && reported == 0)
            {
                continue;
            }

            try
            {
                await grains.GetGrain<IBackfillGrain>(0).ReportLiveAsync(silo.SiloAddress.ToParsableString(), queued, waiters.OldestSince(backfill: false));
                reported = queued;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The next tick reports again; until then the backfill keeps this silo's last report for a while.
                LogReportFailed(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The live queue could not be reported to the backfill: {Reason}")]
    private static partial void LogReportFailed(ILogger logger, string reason);
}
