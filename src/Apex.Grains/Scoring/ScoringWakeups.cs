using Apex.Grains.Ingest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Apex.Grains.Scoring;

/// <summary>
/// Wakes queued tracks when what they wait for arrives: an embedder (a silo that can run one joins:
/// read from the membership snapshot in memory, no I/O) or the database (one ping per silo every few
/// seconds, and only while some track waits for it). Waking is paced, so a large queue does not stampede.
/// </summary>
public sealed partial class ScoringWakeups(ScoringWaiters waiters, EmbedderDirectory embedders, IIngestLog log, IGrainFactory grains, ILogger<ScoringWakeups> logger)
    : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(3);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastPing = DateTime.MinValue;
        var databaseDown = false;
        using var timer = new PeriodicTimer(Tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (embedders.EmbedderKeys().Count > 0 && waiters.WaitingFor(ScoringWait.Embedder) is { Count: > 0 } forEmbedder)
                {
                    await WakeAsync(forEmbedder, stoppingToken);
                }

                var forDatabase = waiters.WaitingFor(ScoringWait.Database);
                if (forDatabase.Count == 0 || DateTime.UtcNow - lastPing < PingEvery)
                {
                    continue;
                }

                lastPing = DateTime.UtcNow;
                try
                {
                    await log.PingAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    if (!databaseDown)
                    {
                        LogDatabaseDown(logger, forDatabase.Count, ex.Message);
                    }

                    databaseDown = true;
                    continue;
                }

                databaseDown = false;
                LogDatabaseBack(logger, forDatabase.Count);
                await WakeAsync(forDatabase, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WakeAsync(IReadOnlyList<string> tracks, CancellationToken cancellationToken)
    {
        // A few at a time: each woken track tries at once, and embedders push back when full.
        await Parallel.ForEachAsync(tracks, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (track, _) =>
        {
            waiters.Done(track);
            try
            {
                await grains.GetGrain<ITrackGrain>(track).WakeAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogWakeFailed(logger, track, ex.Message);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database is unreachable; {Tracks} queued track(s) wait for it: {Reason}")]
    private static partial void LogDatabaseDown(ILogger logger, int tracks, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The database answers again; waking {Tracks} queued track(s)")]
    private static partial void LogDatabaseBack(ILogger logger, int tracks);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not wake track {TrackId}: {Reason}")]
    private static partial void LogWakeFailed(ILogger logger, string trackId, string reason);
}
