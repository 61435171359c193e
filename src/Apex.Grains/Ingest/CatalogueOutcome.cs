namespace Apex.Grains.Ingest;

/// <summary>What a bulk registration did with one track.</summary>
public enum CatalogueOutcome
{
    /// <summary>New: registered now.</summary>
    Created,

    /// <summary>Already registered with these very details: nothing changed.</summary>
    Same,

    /// <summary>Already registered with other details: nothing changed.</summary>
    Conflict,
}
