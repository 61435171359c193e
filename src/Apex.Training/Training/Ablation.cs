using System.Globalization;
using System.Text;
using System.Text.Json;
using Apex.Training.Checkpoints;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>One row of the ablation table: a condition, its settings and its test metrics.</summary>
public sealed record AblationRow(
    string Condition,
    string Loss,
    int Trunk,
    string Mode,
    string Tasks,
    int BestEpoch,
    double StreamsMse,
    double StreamsMae,
    double StreamsPearson,
    double StreamsSpearman,
    double LikesMse,
    double LikesPearson,
    double? MeanAestheticPearson,
    bool Resumed);

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

    private static AblationRow RowOf(string name, TrainingOptions options, CheckpointManifest manifest, bool resumed)
    {
        var m = manifest.TestMetrics;
        var aesthetics = m.Where(kv => kv.Key is not ("streams" or "likes")).Select(kv => kv.Value.Pearson).ToList();
        return new AblationRow(
            name,
            manifest.Loss,
            options.TrunkDepth,
            manifest.InputMode,
            options.TaskSet,
            manifest.BestEpoch,
            m["streams"].Mse,
            m["streams"].Mae,
            m["streams"].Pearson,
            m["streams"].Spearman,
            m["likes"].Mse,
            m["likes"].Pearson,
            aesthetics.Count > 0 ? aesthetics.Average() : null,
            resumed);
    }

    private static async Task WriteAsync(string directory, List<AblationRow> rows, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("condition,loss,trunk,mode,tasks,best_epoch,streams_mse,streams_mae,streams_pearson,streams_spearman,likes_mse,likes_pearson,mean_aesthetic_pearson\n");
        foreach (var r in rows)
        {
            csv.AppendLine(inv, $"{r.Condition},{r.Loss},{r.Trunk},{r.Mode},{r.Tasks},{r.BestEpoch},{r.StreamsMse:R},{r.StreamsMae:R},{r.StreamsPearson:R},{r.StreamsSpearman:R},{r.LikesMse:R},{r.LikesPearson:R},{r.MeanAestheticPearson?.ToString("R", inv) ?? ""}");
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "results.csv"), csv.ToString(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "results.json"), JsonSerializer.Serialize(rows, Json), cancellationToken);

        var md = new StringBuilder();
        md.AppendLine("| model | loss | shared layers | mode | tasks | streams MSE | streams MAE | streams Pearson | streams Spearman | likes MSE | likes Pearson | mean aesthetic Pearson |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        var best = rows.MinBy(r => r.StreamsMse);
        foreach (var r in rows)
        {
            var mark = ReferenceEquals(r, best) ? "**" : "";
            md.AppendLine(inv, $"| {mark}{r.Condition}{mark} | {r.Loss} | {r.Trunk} | {r.Mode} | {r.Tasks} | {r.StreamsMse:0.0} | {r.StreamsMae:0.00} | {r.StreamsPearson:0.000} | {r.StreamsSpearman:0.000} | {r.LikesMse:0.0} | {r.LikesPearson:0.000} | {(r.MeanAestheticPearson is { } p ? p.ToString("0.000", inv) : "–")} |");
        }

        md.AppendLine();
        md.AppendLine(inv, $"Best streams MSE: **{best?.Condition}**. Test split: 10 % of the songs, stratified by streams-score decile.");
        md.AppendLine("Predicted-vs-actual plots of the best full-task condition are in `plots/`.");
        await File.WriteAllTextAsync(Path.Combine(directory, "results.md"), md.ToString(), cancellationToken);
    }
}
