using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Apex.Silo.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Apex.Silo.Apis;

/// <summary>GET /cluster/silos: the active silos as this silo sees them, with the metadata each published.</summary>
public static class ClusterApi
{
    public sealed record SiloView(string Address, string Status, bool Gpu, bool IsThisSilo, IReadOnlyDictionary<string, string> Metadata);

    public sealed record ClusterView(string Profile, string ClusterId, IReadOnlyList<SiloView> Silos);

    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/cluster/silos", GetSilosAsync)
            .WithName("ClusterSilos")
            .WithSummary("The active silos, their status and metadata (gpu=true|false), as seen from the answering silo.")
            .WithTags("cluster")
            .RequireAuthorization(Roles.Admin);
        return app;
    }

    private static async Task<Ok<ClusterView>> GetSilosAsync(IGrainFactory grains, ISiloMetadataCache metadata, ILocalSiloDetails local, IOptions<ApexOptions> options)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        var silos = hosts.OrderBy(h => h.Key.ToParsableString(), StringComparer.Ordinal).Select(h =>
        {
            var published = metadata.GetSiloMetadata(h.Key).Metadata;
            return new SiloView(h.Key.ToParsableString(), h.Value.ToString(), published.TryGetValue("gpu", out var gpu) && gpu == "true", h.Key.Equals(local.SiloAddress), published);
        }).ToList();
        return TypedResults.Ok(new ClusterView(options.Value.Profile, options.Value.IsCluster ? options.Value.ClusterId : "local", silos));
    }
}
