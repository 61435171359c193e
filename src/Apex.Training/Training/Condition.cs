using Apex.Training.Data;
using Apex.Training.Model;

namespace Apex.Training.Training;

/// <summary>
/// The paper's 24 conditions: 3 losses × 2 trunks × 2 modes × 2 task sets. Letters A..L name the 12
/// (loss, trunk, mode) combinations in the paper's table order (mode slowest, then trunk, then loss:
/// A–C song mode with two shared layers, D–F song mode with three, G–L the same in segment mode; so
/// Model C = uncertainty, two shared layers, song mode, and B/E are the manual weightings the paper
/// names); each letter runs with both task sets,
/// written e.g. "C-full" and "C-popularity".
/// </summary>
public static class Condition
{
    private static readonly LossStrategy[] Losses = [LossStrategy.Equal, LossStrategy.Manual, LossStrategy.Uncertainty];

    /// <summary>The 12 lettered combinations, A..L.</summary>
    public static IEnumerable<(char Letter, LossStrategy Loss, int Trunk, InputMode Mode)> Letters()
    {
        var letter = 'A';
        foreach (var mode in new[] { InputMode.Song, InputMode.Segment })
        {
            foreach (var trunk in new[] { 2, 3 })
            {
                foreach (var loss in Losses)
                {
                    yield return (letter++, loss, trunk, mode);
                }
            }
        }
    }

    /// <summary>All 24 conditions as options (other settings taken from <paramref name="baseline"/>).</summary>
    public static IEnumerable<(string Name, TrainingOptions Options)> All(TrainingOptions baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        foreach (var (letter, loss, trunk, mode) in Letters())
        {
            foreach (var tasks in new[] { "full", "popularity" })
            {
                yield return ($"{letter}-{tasks}", baseline with { Loss = loss, TrunkDepth = trunk, Mode = mode, TaskSet = tasks });
            }
        }
    }

    public static TrainingOptions Apply(string letter, TrainingOptions baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        var match = Letters().Where(l => string.Equals(l.Letter.ToString(), letter, StringComparison.OrdinalIgnoreCase)).ToList();
        if (match.Count == 0)
        {
            throw new ArgumentException($"Condition '{letter}' is not one of A..L.");
        }

        var (_, loss, trunk, mode) = match[0];
        return baseline with { Loss = loss, TrunkDepth = trunk, Mode = mode };
    }

    public static char LetterOf(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Letters().First(l => l.Loss == options.Loss && l.Trunk == options.TrunkDepth && l.Mode == options.Mode).Letter;
    }
}
