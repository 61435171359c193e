namespace Apex.Grains.Backfill;

/// <summary>The persisted state of the <see cref="BackfillGrain"/>: its place in the catalogue and whether an admin paused it.</summary>
[GenerateSerializer]
[Alias("Apex.Grains.Backfill.BackfillState")]
public sealed class BackfillState
{
    /// <summary>The catalogue position of the last admitted track.</summary>
    [Id(0)]
    public long Cursor { get; set; }

    [Id(1)]
    public bool Paused { get; set; }

    [Id(2)]
    public long Admitted { get; set; }
}
