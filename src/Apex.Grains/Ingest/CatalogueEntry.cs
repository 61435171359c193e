using System.Text.Json;

namespace Apex.Grains.Ingest;

/// <summary>One track of a bulk registration: its id and its whole registration.</summary>
public sealed record CatalogueEntry(string TrackId, TrackRegistration Registration)
{
    /// <summary>The registration as the catalogue stores it (JSON; read back by <see cref="Read"/>).</summary>
    public string Stored() => JsonSerializer.Serialize(Registration);

    public static TrackRegistration Read(string stored) =>
        JsonSerializer.Deserialize<TrackRegistration>(stored) ?? throw new InvalidDataException("An empty catalogue registration.");
}
