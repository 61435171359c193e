namespace Apex.Grains.Ingest;

/// <summary>A track as the catalogue holds it: registered in bulk, at <see cref="RegisteredAt"/>.</summary>
public sealed record CatalogueRecord(string TrackId, TrackRegistration Registration, DateTimeOffset RegisteredAt);
