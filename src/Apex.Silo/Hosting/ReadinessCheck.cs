using Apex.Grains.Ingest;
using Apex.Grains.Populations;
using Apex.Grains.Scoring;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Apex.Silo.Hosting;

/// <summary>
/// Readiness (<c>/health/ready</c>): the silo is active in its cluster and the database answers. Its
/// detail says how much work waits here (queued tracks by what they wait for, population hand-offs).
/// Liveness is separate: a silo whose database is down is alive and recovers by itself, so an
/// orchestrator takes it out of the load balancer without restarting it.
/// </summary>
public sealed class ReadinessCheck(IClusterMembershipService membership, ILocalSiloDetails silo, IIngestLog log, PopulationHandoff handoff, IServiceProvider services)
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
        // Scoring services are absent on silos that do not score.
        if (services.GetService(typeof(ScoringWaiters)) is ScoringWaiters waiters)
        {
            foreach (var (reason, count) in waiters.Counts())
            {
                data[$"queued_{ScoringWaiters.Name(reason)}"] = count;
            }
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
        return HealthCheckResult.Healthy("Active, and the database answers.", data);
    }
}
