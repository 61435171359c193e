using Apex.Grains.Ingest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Apex.Grains.Populations;

/// <summary>
/// Repairs what a dead silo took with it: totals it had committed but not yet handed to the population
/// grains. When a silo is declared dead, one survivor (the lowest active address, so that the work is
/// done once) has every platform's population grain reload from the ingest log, which holds every
/// committed total. So a lost hand-off is repaired within the failure-detection time plus one reload.
/// </summary>
public sealed partial class PopulationReconciler(IClusterMembershipService membership, ILocalSiloDetails silo, IIngestLog log, IGrainFactory grains, ILogger<PopulationReconciler> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var previous = membership.CurrentSnapshot;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                var died = snapshot.CreateUpdate(previous).Changes.Where(c => c.Status == SiloStatus.Dead).ToList();
                previous = snapshot;
                if (died.Count == 0 || !IsReconciler(snapshot))
                {
                    continue;
                }

                await ReconcileAsync(string.Join(", ", died.Select(d => d.SiloAddress)), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private bool IsReconciler(ClusterMembershipSnapshot snapshot) =>
        snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToParsableString())
            .Order(StringComparer.Ordinal)
            .FirstOrDefault() == silo.SiloAddress.ToParsableString();

    private async Task ReconcileAsync(string dead, CancellationToken cancellationToken)
    {
        // The database may be the reason the silo died: retry until the reload goes through.
        for (var delay = TimeSpan.FromSeconds(1); !cancellationToken.IsCancellationRequested; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks)))
        {
            try
            {
                var platforms = await log.ListPlatformsAsync(cancellationToken);
                await Task.WhenAll(platforms.Select(p => grains.GetGrain<IPopulationGrain>(p).ReloadAsync()));
                LogReconciled(logger, dead, platforms.Count);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogReconcileFailed(logger, dead, delay, ex.Message);
                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(500)), cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Dead} died: {Platforms} population(s) reloaded from the ingest log")]
    private static partial void LogReconciled(ILogger logger, string dead, int platforms);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Dead} died: the populations could not be reloaded yet, again in {Delay}: {Reason}")]
    private static partial void LogReconcileFailed(ILogger logger, string dead, TimeSpan delay, string reason);
}
