namespace Apex.Grains.Ingest;

/// <summary>A catalogued track at its place in the backfill order.</summary>
public sealed record BackfillItem(long Seq, string TrackId);
