namespace Apex.Grains;

/// <summary>Names of the grain storage providers the grains use; the host binds each to a database.</summary>
public static class StorageNames
{
    public const string Tracks = "tracks";

    /// <summary>The arena's pool of tracks to pair for voters.</summary>
    public const string Arena = "arena";

    /// <summary>The catalogue backfill's place and pause flag.</summary>
    public const string Backfill = "backfill";
}
