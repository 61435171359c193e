using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Apex.Scoring;

/// <summary>
/// Keeps the silo's model host on the registry's serving version: on start (training the synthetic-demo
/// head first where the profile asks for it and nothing serves), then every few seconds, so a version
/// published or rolled back elsewhere is swapped in without a restart.
/// </summary>
public sealed partial class ModelWatcher(ServingModelHost host, ModelRegistry registry, OnnxEmbeddingBackend embedders, ScoringSetup setup, ILogger<ModelWatcher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);


    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (setup.SyntheticDemo)
        {
            try
            {
                if (registry.ServingDirectory() is null)
                {
                    LogTraining(logger);
                }

                // The head takes what this silo's encoder gives (4 × 768 for MERT-v1-95M, 4 × 32 for the bundled fixture).
                var encoder = embedders.EncoderInfo(setup.Options.Devices[0]);
                await registry.EnsureServingAsync(encoder.LayerCount, encoder.HiddenSize, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogDemoFailed(logger, ex);
            }
        }

        using var timer = new PeriodicTimer(Interval);
        do
        {
            await host.RefreshAsync();
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No model serves yet: training the synthetic-demo head (synthetic data, not real engagement; scores are labelled synthetic-demo)")]
    private static partial void LogTraining(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training the synthetic-demo head failed; tracks stay queued until a model serves")]
    private static partial void LogDemoFailed(ILogger logger, Exception exception);
}
