namespace Apex.Training.Model;

/// <summary>What a branch predicts: a popularity score (0..100) or a SongEval aesthetic score (1..5).</summary>
public enum TaskKind
{
    Popularity,
    Aesthetic,
}

/// <summary>One prediction task: its name (the dataset column) and its kind, which fixes its output range.</summary>
public sealed record ApexTask(string Name, TaskKind Kind)
{
    public double Low => Kind == TaskKind.Popularity ? 0 : 1;

    public double Span => Kind == TaskKind.Popularity ? 100 : 4;
}

/// <summary>The paper's task sets.</summary>
public static class ApexTasks
{
    public static readonly ApexTask Streams = new("streams", TaskKind.Popularity);
    public static readonly ApexTask Likes = new("likes", TaskKind.Popularity);

    public static readonly IReadOnlyList<ApexTask> Aesthetics =
    [
        new("coherence", TaskKind.Aesthetic),
        new("musicality", TaskKind.Aesthetic),
        new("memorability", TaskKind.Aesthetic),
        new("clarity", TaskKind.Aesthetic),
        new("naturalness", TaskKind.Aesthetic),
    ];

    /// <summary>Streams and likes only (the paper's "popularity" task configuration).</summary>
    public static readonly IReadOnlyList<ApexTask> Popularity = [Streams, Likes];

    /// <summary>All seven tasks (the paper's "full" configuration).</summary>
    public static readonly IReadOnlyList<ApexTask> Full = [Streams, Likes, .. Aesthetics];

    public static IReadOnlyList<ApexTask> ByName(string set) => set switch
    {
        "popularity" => Popularity,
        "full" => Full,
        _ => throw new ArgumentException($"Unknown task set '{set}': use popularity or full."),
    };
}
