namespace Apex.Grains.Ingest;

/// <summary>The catalogued tracks the backfill has not admitted yet: how many, and the oldest one's registration time.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Ingest.BackfillDepth")]
public sealed record BackfillDepth([property: Id(0)] long Queued, [property: Id(1)] DateTimeOffset? OldestRegisteredAt);
