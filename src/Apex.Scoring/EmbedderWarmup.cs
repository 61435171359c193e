using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Apex.Scoring;

/// <summary>
/// Opens and warms this silo's encoder sessions (one per device it embeds on) as the host starts, so
/// the first track pays neither the model load nor ONNX Runtime's first-run cost. In the background:
/// readiness does not wait for it, and a track that arrives first waits for the same session.
/// </summary>
public sealed partial class EmbedderWarmup(OnnxEmbeddingBackend embedders, ScoringOptions options, ILogger<EmbedderWarmup> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Gpu && !options.AllowCpu)
        {
            return Task.CompletedTask;
        }

        return Task.Run(() =>
        {
            foreach (var device in options.Devices.Count > 0 ? options.Devices : [0])
            {
                stoppingToken.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                try
                {
                    var info = embedders.EncoderInfo(device);
                    LogWarm(logger, device, info.Runs, clock.Elapsed.TotalSeconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The first track opens it again and fails with the reason, as before.
                    LogFailed(logger, device, ex);
                }
            }
        }, stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Encoder session for device {Device} ({Runs}) open and warm in {Seconds:0.0} s")]
    private static partial void LogWarm(ILogger logger, int device, string runs, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not open the encoder session for device {Device} at start")]
    private static partial void LogFailed(ILogger logger, int device, Exception exception);
}
