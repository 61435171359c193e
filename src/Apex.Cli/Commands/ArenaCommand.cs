using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Apex.Arena;
using Spectre.Console;

namespace Apex.Cli.Commands;

/// <summary><c>apex arena leaderboard|synth</c> and <c>apex arena-eval</c>: pairwise battles offline.</summary>
internal static class ArenaCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create() => new("arena", "Pairwise battles: leaderboards and synthetic battles.") { Leaderboard(), Synth() };

    private static Command Leaderboard()
    {
        var battles = new Option<string>("--battles") { Description = "Battles, JSON Lines: battle_id, model_a, model_b, winner (model_a|model_b|tie|both_bad), instrumental?", Required = true };
        var scope = new Option<ArenaScope>("--scope") { Description = "overall, instrumental or vocal.", DefaultValueFactory = _ => ArenaScope.Overall };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for the 95 % intervals.", DefaultValueFactory = _ => 1_000 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var format = new Option<string>("--format") { DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("json", "table");
        var bothBadAsTie = BothBadAsTieOption();
        var command = new Command("leaderboard", "Bradley-Terry ratings with bootstrap intervals and Elo, one row per system.") { battles, scope, bootstrap, seed, format, bothBadAsTie };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (await ReadBattlesAsync(result.GetValue(battles)!, result.GetValue(bothBadAsTie), cancellationToken) is not { } all)
            {
                return ExitCodes.BadInput;
            }

            if (result.GetValue(bootstrap) < 0)
            {
                CliConsole.Fail("--bootstrap must be 0 or more.");
                return ExitCodes.BadInput;
            }

            var board = Arena.Leaderboard.Build(all, result.GetValue(scope), result.GetValue(bootstrap), result.GetValue(seed));
            if (result.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(board, Json));
                return ExitCodes.Ok;
            }

            var table = new Table { Title = new TableTitle(Markup.Escape($"{result.GetValue(scope)} leaderboard: Bradley-Terry, 95 % bootstrap intervals ({result.GetValue(bootstrap)} resamples)")) }
                .AddColumns("rank (UB)", "system", "rating", "95 % CI", "battles", "wins", "ties", "Elo", "");
            foreach (var e in board)
            {
                table.AddRow(e.RankUb.ToString(CultureInfo.InvariantCulture), Markup.Escape(e.System), e.Rating.ToString("0.0", CultureInfo.InvariantCulture),
                    $"{e.CiLow:0.0} – {e.CiHigh:0.0}", e.Battles.ToString(CultureInfo.InvariantCulture), e.Wins.ToString("0", CultureInfo.InvariantCulture),
                    e.Ties.ToString("0", CultureInfo.InvariantCulture), e.Elo.ToString("0.0", CultureInfo.InvariantCulture), e.Provisional ? "provisional" : "");
            }

            CliConsole.CreateOutput().Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Synth()
    {
        var systems = new Option<int>("--systems") { Required = true };
        var battles = new Option<int>("--battles") { Required = true };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var output = new Option<string>("--out") { Description = "Battles file (JSON Lines) to write.", Required = true };
        var scores = new Option<string?>("--scores") { Description = "Also write each battle track's seven scores (JSON Lines), for apex arena-eval." };
        var truth = new Option<string?>("--truth") { Description = "Also write the systems' true ratings (JSON)." };
        var command = new Command("synth", "Synthetic battles from known strengths, with ties and both-bad votes.") { systems, battles, seed, output, scores, truth };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(systems) < 2 || result.GetValue(battles) < 1)
            {
                CliConsole.Fail("--systems must be at least 2 and --battles at least 1.");
                return ExitCodes.BadInput;
            }

            var synthetic = new SyntheticArena(result.GetValue(systems), result.GetValue(battles), result.GetValue(seed)).Generate(withScores: result.GetValue(scores) is not null);
            await BattleFile.WriteAsync(result.GetValue(output)!, synthetic.Battles, cancellationToken);
            if (result.GetValue(scores) is { } scoresPath)
            {
                await File.WriteAllLinesAsync(scoresPath, synthetic.Scores.Select(s => JsonSerializer.Serialize(s)), cancellationToken);
            }

            if (result.GetValue(truth) is { } truthPath)
            {
                await File.WriteAllTextAsync(truthPath, JsonSerializer.Serialize(synthetic.TrueRatings), cancellationToken);
            }

            CliConsole.Note($"wrote {synthetic.Battles.Count} synthetic battles between {result.GetValue(systems)} systems to {result.GetValue(output)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreateEval()
    {
        var battles = new Option<string>("--battles") { Description = "Battles (JSON Lines) with track_a, track_b and instrumental.", Required = true };
        var scores = new Option<string>("--scores") { Description = "JSON Lines, one per track: track_id, streams, likes, coherence, musicality, memorability, clarity, naturalness.", Required = true };
        var folds = new Option<int>("--folds") { DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var format = new Option<string>("--format") { Description = "table, json, or markdown (the paper's Table 3 layout).", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("json", "table", "markdown");
        var bothBadAsTie = BothBadAsTieOption();
        var since = new Option<DateTimeOffset?>("--since") { Description = "Only battles at or after this time (ISO 8601); battles without a time are left out." };
        var months = new Option<int?>("--months") { Description = "Only the battles of the last N months before the newest battle (the paper: 4)." };
        var command = new Command("arena-eval", "The paper's preference experiment: 31 features, five classifiers under stratified k-fold CV, rule baselines.") { battles, scores, folds, seed, format, bothBadAsTie, since, months };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (await ReadBattlesAsync(result.GetValue(battles)!, result.GetValue(bothBadAsTie), cancellationToken) is not { } all || await ReadScoresAsync(result.GetValue(scores)!, cancellationToken) is not { } rows)
            {
                return ExitCodes.BadInput;
            }

            if (result.GetValue(folds) < 2)
            {
                CliConsole.Fail("--folds must be at least 2.");
                return ExitCodes.BadInput;
            }

            if (result.GetValue(since) is not null && result.GetValue(months) is not null || result.GetValue(months) is < 1)
            {
                CliConsole.Fail("give --since or --months (at least 1), not both.");
                return ExitCodes.BadInput;
            }

            var from = result.GetValue(since);
            if (result.GetValue(months) is { } m)
            {
                if (all.Select(b => b.Timestamp).Max() is not { } newest)
                {
                    CliConsole.Fail("--months needs battles with a time (ts, or FastChat's tstamp).");
                    return ExitCodes.BadInput;
                }

                from = newest.AddMonths(-m);
            }

            if (from is { } start)
            {
                CliConsole.Note($"battles from {start:yyyy-MM-dd HH:mm} UTC on.");
            }

            ArenaEvaluation evaluation;
            try
            {
                evaluation = PreferenceEvaluation.Run(all, rows, result.GetValue(folds), result.GetValue(seed), from);
            }
            catch (InvalidDataException ex)
            {
                CliConsole.Fail(ex.Message);
                return ExitCodes.BadInput;
            }

            if (result.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(evaluation, Json));
                return ExitCodes.Ok;
            }

            if (result.GetValue(format) == "markdown")
            {
                Console.Write(Table3(evaluation));
                return ExitCodes.Ok;
            }

            CliConsole.Note($"{evaluation.Battles} battles used; left out: {string.Join(", ", evaluation.Excluded.Select(e => $"{e.Key} {e.Value}"))}");
            var table = new Table { Title = new TableTitle($"Preference prediction, stratified {evaluation.Folds}-fold CV (seed {evaluation.Seed})") }
                .AddColumns("predictor", "accuracy", "AUC", "instrumental acc", "AUC", "vocal acc", "AUC");
            foreach (var (name, report) in evaluation.Classifiers.Concat(evaluation.Baselines.Select(b => new KeyValuePair<string, PreferenceReport>("rule: " + b.Key, b.Value))))
            {
                table.AddRow([Markup.Escape(name), .. new[] { report.Overall, report.Instrumental, report.Vocal }.SelectMany(m => new[] { m.Accuracy.ToString("0.000", CultureInfo.InvariantCulture), m.Auc?.ToString("0.000", CultureInfo.InvariantCulture) ?? "–" })]);
            }

            CliConsole.CreateOutput().Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The paper's Table 3: each predictor's accuracy and ROC-AUC, overall, instrumental and vocal.</summary>
    private static string Table3(ArenaEvaluation evaluation)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new System.Text.StringBuilder();
        md.AppendLine(inv, $"Table 3. Preference prediction on {evaluation.Battles} battles (stratified {evaluation.Folds}-fold CV, seed {evaluation.Seed}; left out: {string.Join(", ", evaluation.Excluded.Select(e => $"{e.Key.Replace('_', ' ')} {e.Value}"))}).");
        md.AppendLine();
        md.AppendLine("| predictor | accuracy | ROC-AUC | instrumental accuracy | instrumental ROC-AUC | vocal accuracy | vocal ROC-AUC |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        var names = new Dictionary<string, string>
        {
            ["logistic_regression"] = "Logistic regression", ["random_forest"] = "Random forest", ["gradient_boosting"] = "Gradient boosting", ["adaboost"] = "AdaBoost", ["svm"] = "SVM (linear or RBF by random Fourier features, grid-searched; stand-in)",
            ["all_scores"] = "Rule: all scores", ["popularity"] = "Rule: popularity only", ["songeval"] = "Rule: SongEval only", ["likes"] = "Rule: likes only",
        };
        foreach (var (name, report) in evaluation.Classifiers.Concat(evaluation.Baselines))
        {
            md.Append(inv, $"| {names.GetValueOrDefault(name, name)} |");
            foreach (var m in new[] { report.Overall, report.Instrumental, report.Vocal })
            {
                md.Append(inv, $" {m.Accuracy:0.000} | {(m.Auc is { } auc ? auc.ToString("0.000", inv) : "–")} |");
            }

            md.AppendLine();
        }

        return md.ToString();
    }

    private static Option<bool> BothBadAsTieOption() =>
        new("--bothbad-as-tie") { Description = "Read FastChat's \"tie (bothbad)\" as a tie (FastChat's own reading) instead of both_bad (left out of ratings)." };

    private static async Task<IReadOnlyList<Battle>?> ReadBattlesAsync(string path, bool bothBadAsTie, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            CliConsole.Fail($"{path}: no such file.");
            return null;
        }

        try
        {
            var contents = await BattleFile.ReadFileAsync(path, bothBadAsTie, cancellationToken);
            CliConsole.Note($"{contents.Battles.Count} battles in {path} ({(contents.Format == BattleFormat.Documented ? "documented" : "FastChat")} format).");
            contents.Notes.ToList().ForEach(CliConsole.Note);
            return contents.Battles;
        }
        catch (InvalidDataException ex)
        {
            CliConsole.Fail(ex.Message);
            return null;
        }
    }

    private static async Task<IReadOnlyDictionary<string, TrackScoreRow>?> ReadScoresAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            CliConsole.Fail($"{path}: no such file.");
            return null;
        }

        var rows = new Dictionary<string, TrackScoreRow>(StringComparer.Ordinal);
        var number = 0;
        await foreach (var line in File.ReadLinesAsync(path, cancellationToken))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                var row = JsonSerializer.Deserialize<TrackScoreRow>(line) ?? throw new JsonException("empty line");
                if (string.IsNullOrWhiteSpace(row.TrackId))
                {
                    throw new JsonException("track_id is required");
                }

                rows[row.TrackId] = row;
            }
            catch (JsonException ex)
            {
                CliConsole.Fail($"{path}:{number}: not a score line ({ex.Message}).");
                return null;
            }
        }

        return rows;
    }
}
