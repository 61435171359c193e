using Apex.Audio.Decoding;
using Apex.Grains.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Apex.Scoring;

/// <summary>
/// Everything a silo needs to score tracks: its embedding settings, where audio and models are, and
/// whether to train the synthetic-demo head when nothing serves (the local profile's stand-in).
/// </summary>
public sealed record ScoringSetup(ScoringOptions Options, MediaLocations Media, string ModelsFolder, bool SyntheticDemo);

public static class ScoringSiloBuilderExtensions
{
    /// <summary>
    /// Registers the silo's scoring services: the embedder placement, the batching embedding backend,
    /// the model host kept on the registry's serving version, and the score store. The silo metadata
    /// must include <see cref="EmbedderDirectory.Metadata"/> (the host adds it).
    /// </summary>
    public static ISiloBuilder AddApexScoring(this ISiloBuilder silo, ScoringSetup setup, Func<IServiceProvider, IScoreStore> store)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(setup);
        silo.AddPlacementDirector<GpuPlacement, GpuPlacementDirector>();
        var services = silo.Services;
        services.AddSingleton(setup);
        services.AddSingleton(setup.Options);
        services.AddSingleton(setup.Media);
        services.AddSingleton(store);
        services.AddSingleton(new ModelRegistry(setup.ModelsFolder));
        services.AddSingleton<IAudioDecoder>(sp => new FfmpegAudioDecoder(logger: sp.GetRequiredService<ILogger<FfmpegAudioDecoder>>()));
        services.AddSingleton<OnnxEmbeddingBackend>();
        services.AddSingleton<IEmbeddingBackend>(sp => sp.GetRequiredService<OnnxEmbeddingBackend>());
        services.AddSingleton<ServingModelHost>();
        services.AddSingleton<IModelHost>(sp => sp.GetRequiredService<ServingModelHost>());
        services.AddSingleton<EmbedderDirectory>();
        services.AddSingleton<ScoringWaiters>();
        services.AddSingleton<StoreOutage>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreOutage>());
        services.AddHostedService<EmbedderWarmup>();
        services.AddHostedService<ModelWatcher>();
        services.AddHostedService<ScoringDrain>();
        services.AddHostedService<Apex.Grains.Backfill.LiveQueueReporter>();
        return silo;
    }
}
