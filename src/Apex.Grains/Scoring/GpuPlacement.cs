using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Apex.Grains.Scoring;

/// <summary>
/// Places an embedder on the silo its key names (<see cref="EmbedderKey"/>), and only if that silo is
/// active and publishes an embedder of the key's kind. Orleans' metadata placement filters match the
/// caller's metadata; an embedder must land on a GPU silo whoever calls it, hence this director.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("Apex.Grains.Scoring.GpuPlacement")]
public sealed class GpuPlacement : PlacementStrategy
{
    public static readonly GpuPlacement Instance = new();

    public override bool IsUsingGrainDirectory => true;
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class GpuPlacementAttribute : PlacementAttribute
{
    public GpuPlacementAttribute()
        : base(GpuPlacement.Instance)
    {
    }
}

public sealed class GpuPlacementDirector(EmbedderDirectory directory) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (kind, silo, _) = EmbedderKey.Parse(target.GrainIdentity.Key.ToString()!);
        var compatible = context.GetCompatibleSilos(target);
        var chosen = compatible.FirstOrDefault(s => s.ToParsableString() == silo);
        if (chosen is null || directory.KindOf(chosen) != kind)
        {
            throw new EmbedderUnavailableException($"The {kind} embedder silo {silo} is not an active silo publishing embedder={kind}.");
        }

        return Task.FromResult(chosen);
    }
}

/// <summary>No silo can host the embedder asked for (it left the cluster, or never had that device kind).</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Scoring.EmbedderUnavailableException")]
public sealed class EmbedderUnavailableException : Exception
{
    public EmbedderUnavailableException()
    {
    }

    public EmbedderUnavailableException(string message)
        : base(message)
    {
    }

    public EmbedderUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
