using System.Globalization;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Apex.Grains.Scoring;

/// <summary>
/// The embedders the cluster has right now, from the membership snapshot and the metadata each silo
/// publishes (<see cref="KindKey"/> = gpu, cpu or none; <see cref="DevicesKey"/> = "0,1"): every
/// device of every active GPU silo; CPU embedders only when no GPU silo is active.
/// </summary>
public sealed class EmbedderDirectory(IClusterMembershipService membership, ISiloMetadataCache metadata)
{
    public const string KindKey = "embedder";
    public const string DevicesKey = "embedder.devices";

    /// <summary>The metadata a silo publishes for the embedders it can run.</summary>
    public static Dictionary<string, string> Metadata(bool gpu, bool allowCpu, IReadOnlyList<int> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var kind = gpu ? "gpu" : allowCpu ? "cpu" : "none";
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KindKey] = kind,
            [DevicesKey] = string.Join(',', kind == "gpu" ? devices : kind == "cpu" ? [0] : []),
        };
    }

    public string KindOf(SiloAddress silo) =>
        metadata.GetSiloMetadata(silo).Metadata.TryGetValue(KindKey, out var kind) ? kind : "none";

    /// <summary>The keys of every embedder to use now, GPU first; empty when the cluster has none.</summary>
    public IReadOnlyList<string> EmbedderKeys()
    {
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress)
            .OrderBy(s => s.ToParsableString(), StringComparer.Ordinal)
            .ToList();
        foreach (var kind in new[] { "gpu", "cpu" })
        {
            var keys = active.Where(s => KindOf(s) == kind)
                .SelectMany(s => Devices(s).Select(d => EmbedderKey.Create(kind, s.ToParsableString(), d)))
                .ToList();
            if (keys.Count > 0)
            {
                return keys;
            }
        }

        return [];
    }

    private IEnumerable<int> Devices(SiloAddress silo) =>
        metadata.GetSiloMetadata(silo).Metadata.TryGetValue(DevicesKey, out var devices)
            ? devices.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(d => int.Parse(d, CultureInfo.InvariantCulture))
            : [];
}
