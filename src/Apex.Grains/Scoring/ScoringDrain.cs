using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Apex.Grains.Scoring;

/// <summary>
/// On shutdown (SIGTERM), before the silo leaves: no queued track starts a new try, and the tries in
/// flight finish, so that none of them calls a grain once the silo can no longer place one. Registered
/// with the silo's services, it stops after the web server and before the silo.
/// </summary>
public sealed partial class ScoringDrain(ScoringWaiters waiters, TimeProvider time, ILogger<ScoringDrain> logger) : IHostedService
{
    /// <summary>Within the host's 30 s shutdown: what is still running then stays queued for the next start.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var running = await waiters.DrainAsync(Limit, time, cancellationToken);
        if (running > 0)
        {
            LogUnfinished(logger, running, Limit.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Running} scoring tries still ran after {Seconds} s of shutdown; their tracks stay queued for the next start")]
    private static partial void LogUnfinished(ILogger logger, int running, double seconds);
}
