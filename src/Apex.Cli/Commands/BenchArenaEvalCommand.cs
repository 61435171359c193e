using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Apex.Arena;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench arena-eval</c>: the paper's preference experiment (<c>apex arena-eval</c>) on synthetic
/// battles, and the same cross-validation on the same features and folds with scikit-learn and the
/// paper's settings (tools/bench-arena/arena_eval_sklearn.py), side by side: accuracy and ROC-AUC of each
/// classifier overall, instrumental and vocal, and the time each side took.
/// </summary>
internal static class BenchArenaEvalCommand
{
    public static Command Create()
    {
        var systems = new Option<int>("--systems") { DefaultValueFactory = _ => 12 };
        var battles = new Option<int>("--battles") { DefaultValueFactory = _ => 3_000 };
        var folds = new Option<int>("--folds") { DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var command = new Command("arena-eval", "The preference classifiers here and in scikit-learn (python3-sklearn) on the same battles, features and folds.") { systems, battles, folds, seed, output };
        command.SetAction((result, cancellationToken) => BenchReport.RunAsync("arena-eval", result.GetValue(output), temp =>
            RunAsync(result.GetValue(systems), result.GetValue(battles), result.GetValue(folds), result.GetValue(seed), temp, cancellationToken), cancellationToken));
        return command;
    }

    private static async Task<string> RunAsync(int systems, int count, int folds, int seed, string temp, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        var synthetic = new SyntheticArena(systems, count, Seed: seed).Generate(withScores: true);
        var scores = synthetic.Scores.ToDictionary(s => s.TrackId);
        CliConsole.Note($"{synthetic.Battles.Count} synthetic battles over {systems} systems; {folds}-fold CV here…");
        var clock = Stopwatch.StartNew();
        var ours = PreferenceEvaluation.Run(synthetic.Battles, scores, folds, seed);
        var ourSeconds = clock.Elapsed.TotalSeconds;

        var (features, labels, instrumental, assignment) = PreferenceEvaluation.Data(synthetic.Battles, scores, folds, seed);
        var csv = Path.Combine(temp, "arena.csv");
        var text = new StringBuilder();
        text.AppendJoin(',', Enumerable.Range(0, PreferenceFeatures.Count).Select(i => $"f{i}")).AppendLine(",label,instrumental,fold");
        for (var i = 0; i < features.Count; i++)
        {
            text.AppendJoin(',', features[i].Select(f => f.ToString("R", inv))).AppendLine(inv, $",{(labels[i] ? 1 : 0)},{(instrumental[i] ? 1 : 0)},{assignment[i]}");
        }

        await File.WriteAllTextAsync(csv, text.ToString(), cancellationToken);
        CliConsole.Note("the same folds with scikit-learn…");
        var theirs = await PythonTool.RunAsync(Path.Combine("tools", "bench-arena", "arena_eval_sklearn.py"), [csv, seed.ToString(inv)], cancellationToken);

        var md = new StringBuilder();
        md.AppendLine(inv, $"## Preference classifiers: this project and scikit-learn ({DateTime.UtcNow:yyyy-MM-dd})");
        md.AppendLine();
        md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores. {ours.Battles:N0} usable synthetic battles over {systems} systems, the paper's 31 features, {folds}-fold stratified CV on the same folds both sides. scikit-learn {theirs.GetProperty("version").GetString()}: the paper's settings (XGBoost is not available here: its gradient boosting is scikit-learn's, with the same class-ratio weight).");
        md.AppendLine();
        md.AppendLine("| Classifier | Accuracy here | Accuracy scikit-learn | ROC-AUC here | ROC-AUC scikit-learn | Instr. AUC here / sk | Vocal AUC here / sk | Time sk (s) |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var name in PreferenceEvaluation.ClassifierNames)
        {
            var mine = ours.Classifiers[name];
            var sk = theirs.GetProperty("metrics").GetProperty(name);
            md.AppendLine(inv, $"| {name} | {mine.Overall.Accuracy:0.000} | {Value(sk, "overall", "accuracy")} | {Auc(mine.Overall)} | {Value(sk, "overall", "auc")} | {Auc(mine.Instrumental)} / {Value(sk, "instrumental", "auc")} | {Auc(mine.Vocal)} / {Value(sk, "vocal", "auc")} | {theirs.GetProperty("seconds").GetProperty(name).GetDouble():0.0} |");
        }

        md.AppendLine();
        md.AppendLine(inv, $"All five classifiers here: {ourSeconds:0.0} s; in scikit-learn: {theirs.GetProperty("seconds").EnumerateObject().Sum(p => p.Value.GetDouble()):0.0} s. Here the SVM's RBF kernel is approximated by random Fourier features (ML.NET has no kernel SVM) and AdaBoost is written by hand; the rest are ML.NET's trainers.");
        md.AppendLine();
        md.AppendLine(inv, $"Command: `apex bench arena-eval --systems {systems} --battles {count} --folds {folds} --seed {seed}`");
        md.AppendLine();
        return md.ToString();

        static string Auc(PreferenceMetrics m) => m.Auc is { } auc ? auc.ToString("0.000", CultureInfo.InvariantCulture) : "–";

        static string Value(JsonElement sk, string subset, string metric) =>
            sk.GetProperty(subset).GetProperty(metric) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble().ToString("0.000", CultureInfo.InvariantCulture) : "–";
    }
}
