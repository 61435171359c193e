using Orleans.Concurrency;

namespace Apex.Grains.Scoring;

/// <summary>
/// One device's embedder. Reentrant: every call waits on the shared batcher, so many tracks' segments
/// meet in one encoder run; the work itself runs on the silo's embedding backend, off the grain scheduler.
/// </summary>
[GpuPlacement]
[Reentrant]
public sealed class EmbedderGrain(IEmbeddingBackend backend, ILocalSiloDetails silo) : Grain, IEmbedderGrain
{
    private int Device => EmbedderKey.Parse(this.GetPrimaryKeyString()).Device;

    private string Silo => silo.SiloAddress.ToParsableString();

    Task<EmbedOutcome> IEmbedderGrain.EmbedAsync(EmbedJob job) =>
        Task.Run(() => backend.EmbedAsync(Device, job, Silo));

    Task<EmbedderStats> IEmbedderGrain.GetStatsAsync() => Task.FromResult(backend.Stats(Device, Silo));
}
