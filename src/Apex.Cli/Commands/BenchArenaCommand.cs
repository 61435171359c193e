using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Apex.Arena;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench arena</c>: Bradley-Terry refit time on 10 k and 1 M battles over 100 systems, 1,000
/// bootstrap resamples, judge pairs/s, and the same fit with scikit-learn in the same run
/// (tools/bench-arena/bt_sklearn.py), with the largest rating difference between the two.
/// </summary>
internal static class BenchArenaCommand
{
    public static Command Create()
    {
        var systems = new Option<int>("--systems") { DefaultValueFactory = _ => 100 };
        var sizes = new Option<string>("--battles") { Description = "Battle counts, comma-separated.", DefaultValueFactory = _ => "10000,1000000" };
        var bootstrap = new Option<int>("--bootstrap") { DefaultValueFactory = _ => 1_000 };
        var judgePairs = new Option<int>("--judge-pairs") { DefaultValueFactory = _ => 1_000_000 };
        var sklearn = new Option<bool>("--sklearn") { Description = "Also fit with scikit-learn (needs /usr/bin/python3 with python3-sklearn).", DefaultValueFactory = _ => true };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var command = new Command("arena", "Time leaderboard refits, bootstrap intervals and the judge; scikit-learn beside it.") { systems, sizes, bootstrap, judgePairs, sklearn, output };
        command.SetAction(async (result, cancellationToken) =>
        {
            var counts = result.GetValue(sizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            return await BenchReport.RunAsync("arena", result.GetValue(output), temp =>
                RunAsync(result.GetValue(systems), counts, result.GetValue(bootstrap), result.GetValue(judgePairs), result.GetValue(sklearn), temp, cancellationToken), cancellationToken);
        });
        return command;
    }

    private static async Task<string> RunAsync(int systems, int[] sizes, int bootstrap, int judgePairs, bool sklearn, string temp, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"### apex bench arena: {systems} systems, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores. Synthetic battles (8 % ties, 4 % both-bad). Counting reads the battles into pairwise cells once; the refit works on the cells.");
        md.AppendLine();
        md.AppendLine("| battles | count into cells (s) | BT refit (ms, median of 9 warm) | scikit-learn fit (ms) | speed-up | max rating diff | 1,000 bootstraps (s) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var n in sizes)
        {
            var battles = new SyntheticArena(systems, n, Seed: n, QualityNoise: 0).Generate(withScores: false).Battles;
            var clock = Stopwatch.StartNew();
            var counts = PairwiseCounts.From(battles);
            var countSeconds = clock.Elapsed.TotalSeconds;
            var fits = new List<double>();
            double[] ratings = [];
            // A leaderboard refits again and again: time the warm (JIT-compiled) fit, as a silo runs it.
            for (var k = 0; k < 10; k++)
            {
                BradleyTerry.Fit(counts);
            }

            for (var k = 0; k < 9; k++)
            {
                clock.Restart();
                ratings = BradleyTerry.Ratings(BradleyTerry.Fit(counts));
                fits.Add(clock.Elapsed.TotalMilliseconds);
            }

            var fitMs = fits.Order().ElementAt(4);
            clock.Restart();
            _ = BradleyTerry.Intervals(counts, bootstrap, seed: 1);
            var bootstrapSeconds = clock.Elapsed.TotalSeconds;
            string sklearnMs = "–", speedUp = "–", difference = "–";
            if (sklearn)
            {
                var path = Path.Combine(temp, $"battles-{n}.jsonl");
                await BattleFile.WriteAsync(path, battles, cancellationToken);
                var (seconds, theirs) = await SklearnAsync(path, cancellationToken);
                sklearnMs = (seconds * 1000).ToString("0.0", inv);
                speedUp = (seconds * 1000 / fitMs).ToString("0.0", inv) + "×";
                difference = Enumerable.Range(0, counts.Systems.Count).Max(i => Math.Abs(ratings[i] - theirs[counts.Systems[i]])).ToString("0.000", inv);
            }

            md.AppendLine(inv, $"| {n:N0} | {countSeconds:0.00} | {fitMs:0.0} | {sklearnMs} | {speedUp} | {difference} | {bootstrapSeconds:0.00} ({bootstrap}) |");
            CliConsole.Note($"{n} battles: refit {fitMs:0.0} ms, bootstrap {bootstrapSeconds:0.00} s, scikit-learn {sklearnMs} ms");
        }

        var (pairsPerSecond, version) = Judge(judgePairs);
        md.AppendLine();
        md.AppendLine(inv, $"Judge ({version}: features + logistic regression, one core): {pairsPerSecond:N0} pairs/s = {pairsPerSecond * 60 / 1e6:0.0} M pairs/min.");
        md.AppendLine();
        md.AppendLine(inv, $"Command: `apex bench arena --systems {systems} --battles {string.Join(',', sizes)} --bootstrap {bootstrap} --judge-pairs {judgePairs}`");
        md.AppendLine();
        return md.ToString();
    }

    private static (double PairsPerSecond, string Version) Judge(int pairs)
    {
        var synthetic = new SyntheticArena(12, 2_000, Seed: 5).Generate(withScores: true);
        var scores = synthetic.Scores.ToDictionary(s => s.TrackId);
        var usable = synthetic.Battles.Where(b => b.Winner is BattleWinner.ModelA or BattleWinner.ModelB).ToList();
        var model = PreferenceModel.Train(
            usable.Select(b => PreferenceFeatures.Of(scores[b.TrackA!], scores[b.TrackB!], b.Instrumental!.Value)).ToList(),
            usable.Select(b => b.Winner == BattleWinner.ModelA).ToList(), "bench");
        var rows = synthetic.Scores;
        var clock = Stopwatch.StartNew();
        var sum = 0.0;
        for (var i = 0; i < pairs; i++)
        {
            sum += model.Probability(PreferenceFeatures.Of(rows[i % rows.Count], rows[(i * 7 + 1) % rows.Count], (i & 1) == 0));
        }

        GC.KeepAlive(sum);
        return (pairs / clock.Elapsed.TotalSeconds, $"model trained on {model.TrainedOn} battles");
    }

    private static async Task<(double Seconds, Dictionary<string, double> Ratings)> SklearnAsync(string battles, CancellationToken cancellationToken)
    {
        var json = await PythonTool.RunAsync(Path.Combine("tools", "bench-arena", "bt_sklearn.py"), [battles], cancellationToken);
        return (json.GetProperty("seconds").GetDouble(), json.GetProperty("ratings").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble()));
    }
}
