using System.Globalization;
using System.Text;
using System.Text.Json;
using Apex.Training.Checkpoints;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>
/// One row of the ablation: a condition, its settings and its test metrics for every task it has
/// (MSE, MAE, Pearson, Spearman; popularity-only conditions have no aesthetic tasks).
/// </summary>
public sealed record AblationRow(
    string Condition,
    string Loss,
    int Trunk,
    string Mode,
    string Tasks,
    int BestEpoch,
    IReadOnlyDictionary<string, MetricsManifest> Metrics,
    bool Resumed)
{
    public double StreamsMse => Metrics["streams"].Mse;

    /// <summary>The model letter (A..L) without the task set.</summary>
    public string Model => Condition.Split('-')[0];
}

/// <summary>
/// The paper's 24-condition grid on one dataset. Each condition's checkpoint goes to its own folder;
/// a folder that already holds a checkpoint is read back instead of retrained, so an interrupted run
/// resumes where it stopped.
/// </summary>
public static class Ablation
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<IReadOnlyList<AblationRow>> RunAsync(string datasetPath, string outputDirectory, TrainingOptions baseline, Device? device = null, Action<string, int, int, bool>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(outputDirectory);
        var rows = new List<AblationRow>();
        var conditions = Condition.All(baseline).ToList();
        for (var i = 0; i < conditions.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (name, options) = conditions[i];
            var folder = Path.Combine(outputDirectory, name);
            var resumed = File.Exists(Path.Combine(folder, HeadCheckpoint.ManifestFile)) && File.Exists(Path.Combine(folder, HeadCheckpoint.WeightsFile));
            progress?.Invoke(name, i, conditions.Count, resumed);
            CheckpointManifest manifest;
            if (resumed)
            {
                manifest = HeadCheckpoint.Load(folder).Manifest;
            }
            else
            {
                manifest = (await TrainingRun.RunAsync(datasetPath, folder, options, device, cancellationToken: cancellationToken)).Manifest;
            }

            rows.Add(RowOf(name, options, manifest, resumed));
        }

        await WriteAsync(outputDirectory, rows, cancellationToken);
        // Plots for the best full-task condition (seven tasks to show) by streams MSE.
        var best = rows.Where(r => r.Tasks == "full").MinBy(r => r.StreamsMse)!;
        await AblationPlots.WriteAsync(datasetPath, Path.Combine(outputDirectory, best.Condition), best.Condition, Path.Combine(outputDirectory, "plots"), cancellationToken);
        return rows;
    }

    private static AblationRow RowOf(string name, TrainingOptions options, CheckpointManifest manifest, bool resumed) =>
        new(name, manifest.Loss, options.TrunkDepth, manifest.InputMode, options.TaskSet, manifest.BestEpoch, manifest.TestMetrics, resumed);

    /// <summary>The tasks in the paper's order: the two popularity scores, then the five SongEval dimensions.</summary>
    public static readonly string[] TaskOrder = ["streams", "likes", "coherence", "musicality", "memorability", "clarity", "naturalness"];

    private static readonly string[] MetricNames = ["mse", "mae", "pearson", "spearman"];

    private static double Metric(MetricsManifest m, string name) => name switch
    {
        "mse" => m.Mse,
        "mae" => m.Mae,
        "pearson" => m.Pearson,
        "spearman" => m.Spearman,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    private static async Task WriteAsync(string directory, List<AblationRow> rows, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("condition,model,loss,trunk,mode,tasks,best_epoch");
        foreach (var task in TaskOrder)
        {
            foreach (var metric in MetricNames)
            {
                csv.Append(inv, $",{task}_{metric}");
            }
        }

        csv.AppendLine();
        foreach (var r in rows)
        {
            csv.Append(inv, $"{r.Condition},{r.Model},{r.Loss},{r.Trunk},{r.Mode},{r.Tasks},{r.BestEpoch}");
            foreach (var task in TaskOrder)
            {
                foreach (var metric in MetricNames)
                {
                    csv.Append(r.Metrics.TryGetValue(task, out var m) ? "," + Metric(m, metric).ToString("R", inv) : ",");
                }
            }

            csv.AppendLine();
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "results.csv"), csv.ToString(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "results.json"), JsonSerializer.Serialize(rows, Json), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "results.md"), Markdown(rows), cancellationToken);
    }

    /// <summary>
    /// The paper's two tables: Table 1, popularity prediction for all 24 conditions (streams and likes:
    /// MSE, MAE, Pearson, Spearman); Table 2, aesthetic prediction for the full-task conditions (each
    /// SongEval dimension: MSE and Pearson; MAE and Spearman are in results.csv and .json). Bold: the
    /// best value of each column.
    /// </summary>
    public static string Markdown(IReadOnlyList<AblationRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("Table 1. Popularity prediction on the test split (all 24 conditions).");
        md.AppendLine();
        md.AppendLine("| model | loss | shared layers | mode | tasks | streams MSE | streams MAE | streams Pearson | streams Spearman | likes MSE | likes MAE | likes Pearson | likes Spearman |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var popularity = TaskOrder.Take(2).SelectMany(t => MetricNames.Select(m => (Task: t, Metric: m))).ToList();
        foreach (var r in rows)
        {
            md.Append(inv, $"| {r.Condition} | {r.Loss} | {r.Trunk} | {r.Mode} | {r.Tasks} |");
            foreach (var (task, metric) in popularity)
            {
                md.Append(' ').Append(Cell(rows, r, task, metric)).Append(" |");
            }

            md.AppendLine();
        }

        var full = rows.Where(r => r.Metrics.ContainsKey("coherence")).ToList();
        if (full.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Table 2. Aesthetic prediction on the test split (full-task conditions; SongEval dimensions, 1..5).");
            md.AppendLine();
            var dimensions = TaskOrder.Skip(2).ToList();
            md.AppendLine("| model | " + string.Join(" | ", dimensions.SelectMany(d => new[] { $"{d} MSE", $"{d} Pearson" })) + " |");
            md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", dimensions.Count * 2)));
            foreach (var r in full)
            {
                md.Append(inv, $"| {r.Model} |");
                foreach (var d in dimensions)
                {
                    md.Append(' ').Append(Cell(full, r, d, "mse")).Append(" | ").Append(Cell(full, r, d, "pearson")).Append(" |");
                }

                md.AppendLine();
            }
        }

        var best = rows.MinBy(r => r.StreamsMse);
        md.AppendLine();
        md.AppendLine(inv, $"Best streams MSE: {best?.Condition}. Test split: 10 % of the songs, stratified by streams-percentile decile.");
        md.AppendLine("Predicted-vs-actual plots of the best full-task condition are in `plots/`.");
        return md.ToString();
    }

    /// <summary>A metric, bold where it is the column's best (lowest error, highest correlation).</summary>
    private static string Cell(IReadOnlyList<AblationRow> rows, AblationRow row, string task, string metric)
    {
        if (!row.Metrics.TryGetValue(task, out var m))
        {
            return "–";
        }

        var value = Metric(m, metric);
        var column = rows.Where(r => r.Metrics.ContainsKey(task)).Select(r => Metric(r.Metrics[task], metric)).ToList();
        var isBest = metric is "mse" or "mae" ? value <= column.Min() : value >= column.Max();
        var text = value.ToString(metric is "mse" or "mae" ? (task is "streams" or "likes" ? "0.0" : "0.000") : "0.000", CultureInfo.InvariantCulture);
        return isBest ? $"**{text}**" : text;
    }
}
