using System.CommandLine;
using Apex.Core.Popularity;

namespace Apex.Cli.Commands;

/// <summary>
/// The labeling options shared by <c>apex popularity</c> and <c>apex dataset build</c>: one labeler
/// (<see cref="SongLabeler"/>), the same choices in both.
/// </summary>
internal sealed class LabelingOptionsBinder
{
    public Option<LabelPopulation> Population { get; } = new("--population")
    {
        Description = "dataset: percentile ranks among every song (the paper); platform: among the songs of the same platform (as the live cluster ranks).",
        DefaultValueFactory = _ => LabelPopulation.Dataset,
    };

    public Option<ZeroLikes> ZeroLikes { get; } = new("--zero-likes")
    {
        Description = "ranked: zero likes tie at the bottom of the likes ranking (the default reading of the paper); unlabelled: songs without likes get no likes label.",
        DefaultValueFactory = _ => Core.Popularity.ZeroLikes.Ranked,
    };

    public Option<DateTimeOffset?> AsOf { get; } = new("--as-of")
    {
        Description = "The dataset's release date: songs created less than --min-age-days before it are dropped. Default: the newest created_at in the input.",
    };

    public Option<int> MinAgeDays { get; } = new("--min-age-days") { Description = "Songs younger than this at --as-of are dropped (0: keep all).", DefaultValueFactory = _ => 14 };

    public Option<bool> BalancePlatforms { get; } = new("--balance-platforms")
    {
        Description = "Down-sample every larger platform to the smallest one's size, stratified by streams-percentile decile (the paper's Suno/Udio balancing).",
    };

    public Option<int> BalanceSeed { get; } = new("--balance-seed") { Description = "Seeds the balancing's sampling.", DefaultValueFactory = _ => 42 };

    public IEnumerable<Option> All => [Population, ZeroLikes, AsOf, MinAgeDays, BalancePlatforms, BalanceSeed];

    /// <summary>The options; the as-of date defaults to the newest creation date given (none: no age curation).</summary>
    public LabelingOptions Bind(ParseResult result, IEnumerable<DateTimeOffset?> createdAt)
    {
        ArgumentNullException.ThrowIfNull(result);
        var minAge = result.GetValue(MinAgeDays);
        if (minAge < 0)
        {
            throw new ArgumentException("--min-age-days must be 0 or more.");
        }

        return new LabelingOptions
        {
            Population = result.GetValue(Population),
            ZeroLikes = result.GetValue(ZeroLikes),
            AsOf = result.GetValue(AsOf) ?? createdAt.Max(),
            MinAgeDays = minAge,
            BalancePlatforms = result.GetValue(BalancePlatforms),
            Seed = result.GetValue(BalanceSeed),
        };
    }

    /// <summary>One line per reason that dropped songs, with up to five of them.</summary>
    public static IEnumerable<string> Summary(SongLabels labels, LabelingOptions options)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(options);
        yield return $"labelled {labels.Kept.Count} song(s) ({(options.Population == LabelPopulation.Dataset ? "one population over the dataset" : "one population per platform")}; zero likes {(options.ZeroLikes == Core.Popularity.ZeroLikes.Ranked ? "ranked" : "unlabelled")}" +
            $"{(options.AsOf is { } asOf ? $"; as of {asOf:yyyy-MM-dd}, minimum age {options.MinAgeDays} days" : "")}); dropped {labels.Dropped.Count}";
        foreach (var group in labels.Dropped.GroupBy(d => d.Reason))
        {
            var examples = string.Join("; ", group.Take(5).Select(d => $"{d.Song.TrackId}: {d.Detail}"));
            yield return $"  {group.Count()} dropped ({Name(group.Key)}): {examples}{(group.Count() > 5 ? "; …" : "")}";
        }
    }

    private static string Name(DropReason reason) => reason switch
    {
        DropReason.ZeroStreams => "zero streams",
        DropReason.TooYoung => "too young",
        DropReason.Duplicate => "duplicate audio",
        DropReason.Balanced => "platform balancing",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
