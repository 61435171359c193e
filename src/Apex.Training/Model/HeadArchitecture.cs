namespace Apex.Training.Model;

/// <summary>
/// The shape of an APEX head: input layers × hidden (from the encoder metadata), the shared trunk
/// widths, the branch width and the tasks.
/// </summary>
public sealed record HeadArchitecture(int Layers, int Hidden, IReadOnlyList<int> Trunk, IReadOnlyList<ApexTask> Tasks, int BranchWidth = 128, double TrunkDropout = 0.3, double BranchDropout = 0.1)
{
    /// <summary>The paper's trunks: two shared layers (→512→256) or three (→512→384→256).</summary>
    public static IReadOnlyList<int> TrunkOf(int depth) => depth switch
    {
        2 => [512, 256],
        3 => [512, 384, 256],
        _ => throw new ArgumentException($"The trunk has 2 or 3 shared layers (was {depth})."),
    };

    public HeadArchitecture Validate()
    {
        if (Layers < 1 || Hidden < 1 || Trunk.Count == 0 || Trunk.Any(w => w < 1) || Tasks.Count == 0 || BranchWidth < 1)
        {
            throw new ArgumentException($"Invalid head: {Layers} layers × {Hidden}, trunk [{string.Join(",", Trunk)}], {Tasks.Count} tasks, branch {BranchWidth}.");
        }

        return this;
    }
}
