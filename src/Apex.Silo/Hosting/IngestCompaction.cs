using Apex.Grains.Ingest;

namespace Apex.Silo.Hosting;

/// <summary>Keeps the ingest log bounded: compacts it to each track's dedup window on a timer.</summary>
public sealed partial class IngestCompaction(IIngestLog log, IOptions<ApexOptions> options, ILogger<IngestCompaction> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(options.Value.CompactionMinutes));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                LogCompacted(logger, await log.CompactAsync(cancellationToken: stoppingToken));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failed pass leaves the log as it was; the next one tries again.
                LogFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingest log compacted: {Rows} events older than their track's dedup window dropped")]
    private static partial void LogCompacted(ILogger logger, int rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingest log compaction failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
