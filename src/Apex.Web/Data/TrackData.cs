using Apex.Grains;

namespace Apex.Web.Data;

/// <summary>A track as its page shows it: what the cluster holds, where its counts stand live, and whether it is mature.</summary>
public sealed record TrackData(TrackView Track, PopularityView Popularity, bool Mature, int MaturityDays);
