namespace Apex.Grains.Storage;

/// <summary>A column a later schema version added to a table that older files already have.</summary>
public sealed record AddedColumn(string Table, string Column, string Definition);

/// <summary>
/// One SQLite file of the local profile's data folder, the scripts that make its schema (the latest
/// one, for a new file), and the columns later versions added (added to an older file when missing:
/// SQLite has no ADD COLUMN IF NOT EXISTS).
/// </summary>
public sealed record LocalStore(string File, string Holds, IReadOnlyList<string> Scripts, IReadOnlyList<AddedColumn>? Added = null)
{
    public string PathIn(string dataDir) => Path.Combine(dataDir, File);
}

/// <summary>The local profile's stores: one SQLite file each, all of one data set.</summary>
public static class LocalStores
{
    public static readonly LocalStore Grains = new("grains.db", "track registrations and scores (grain storage) and reminders", ["sqlite-grain-storage.sql", "sqlite-reminders.sql"]);
    public static readonly LocalStore Ingest = new("ingest.db", "the ingest log: events and each track's totals", ["sqlite-ingest.sql"]);
    public static readonly LocalStore Scores = new("scores.db", "embeddings and predictions", ["sqlite-scores.sql"]);
    public static readonly LocalStore Arena = new("arena.db", "the battle log", ["sqlite-arena.sql"]);
    public static readonly LocalStore Keys = new("keys.db", "API keys", ["sqlite-keys.sql"],
        [new("apex_keys", "expires_at", "TEXT NULL"), new("apex_keys", "revoked_at", "TEXT NULL")]);

    public static readonly IReadOnlyList<LocalStore> All = [Grains, Ingest, Scores, Arena, Keys];
}
