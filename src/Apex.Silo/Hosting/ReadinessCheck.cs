using Apex.Grains.Ingest;
using Apex.Grains.Populations;
using Apex.Grains.Scoring;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Apex.Silo.Hosting;

/// <summary>
/// Readiness (<c>/health/ready</c>): the silo is active in its cluster, the database answers, and the
/// data folder's disk has at least Apex:MinFreeDiskBytes free. Its
/// detail says how much work waits here (queued tracks by what they wait for, population hand-offs, and
/// the catalogue backfill on the silo that runs it).
/// Liveness is separate: a silo whose database is down is alive and recovers by itself, so an
/// orchestrator takes it out of the load balancer without restarting it.
/// </summary>
public sealed class ReadinessCheck(IClusterMembershipService membership, ILocalSiloDetails silo, IIngestLog log, PopulationHandoff handoff, IOptions<ApexOptions> options, ScoringWaiters waiters, Apex.Grains.Backfill.BackfillMetrics backfill)
    : IHealthCheck
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["silo"] = status.ToString().ToLowerInvariant(),
            ["population_handoffs_waiting"] = handoff.Waiting,
        };
        foreach (var (reason, count) in waiters.Counts())
        {
            data[$"queued_{ScoringWaiters.Name(reason)}"] = count;
        }

        // By priority: what the backfill gives way to, and how long it has waited.
        data["queued_live"] = waiters.LiveQueued();
        data["oldest_live_wait_seconds"] = Math.Round(waiters.OldestWait(backfill: false).TotalSeconds, 1);

        // The catalogue backfill, on the silo that runs it: what waits behind the live tracks.
        if (backfill.Last is { } view)
        {
            data["backfill_queued"] = view.Queued;
            data["backfill_in_flight"] = view.InFlight;
            data["backfill_paused"] = view.Paused;
            data["backfill_oldest_queued_at"] = view.OldestQueuedAt?.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? "";
        }

        if (status != SiloStatus.Active)
        {
            return HealthCheckResult.Unhealthy("The silo is not active in its cluster yet (or any more).", data: data);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        try
        {
            await log.PingAsync(timeout.Token);
        }
        catch (Exception ex) when (StoreUnavailableHandler.IsUnavailable(ex) || ex is OperationCanceledException)
        {
            data["database"] = "unreachable";
            return HealthCheckResult.Unhealthy("The database does not answer.", data: data);
        }

        data["database"] = "ok";

        // The data folder holds the local profile's databases (and every profile's uploads).
        var free = FreeBytes(options.Value.DataDir);
        data["data_dir_free_bytes"] = free ?? -1;
        if (free < options.Value.MinFreeDiskBytes)
        {
            return HealthCheckResult.Unhealthy($"The data folder's disk is (almost) full: {free} bytes free, Apex:MinFreeDiskBytes is {options.Value.MinFreeDiskBytes}.", data: data);
        }

        return HealthCheckResult.Healthy("Active, the database answers, and the data folder has room.", data);
    }

    private static long? FreeBytes(string folder)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
