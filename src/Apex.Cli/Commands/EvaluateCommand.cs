using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Training;
using CsvHelper;

namespace Apex.Cli.Commands;

/// <summary><c>apex evaluate</c> and <c>apex predict</c>: a checkpoint over a dataset.</summary>
internal static class EvaluateCommand
{
    public static Command CreateEvaluate()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder.", Required = true };
        var data = new Option<string>("--data") { Description = "Dataset (Parquet).", Required = true };
        var split = new Option<string>("--split") { Description = "all rows, or the test/validation/train part of the split stored with the model.", DefaultValueFactory = _ => "all" };
        split.AcceptOnlyFromAmong("all", "test", "validation", "train");
        var format = new Option<string>("--format") { DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("json", "table");
        var command = new Command("evaluate", "Per-task MSE, MAE, Pearson and Spearman of a model on a dataset.") { model, data, split, format };
        command.SetAction(async (result, cancellationToken) =>
        {
            var loaded = await LoadAsync(result.GetValue(model)!, result.GetValue(data)!, result.GetValue(split)!, cancellationToken);
            if (loaded is null)
            {
                return ExitCodes.BadInput;
            }

            var (head, manifest, set) = loaded.Value;
            var metrics = Predictor.Evaluate(Predictor.PredictSongs(head, set), set);
            if (result.GetValue(format) == "json")
            {
                var json = new
                {
                    model = manifest.Version,
                    label = manifest.Label,
                    rows = set.SongCount,
                    tasks = metrics.ToDictionary(m => m.Task, m => new { mse = m.Report.Mse, mae = m.Report.Mae, pearson = m.Report.Pearson, spearman = m.Report.Spearman, n = m.Report.Count }),
                };
                Console.WriteLine(JsonSerializer.Serialize(json));
            }
            else
            {
                CliConsole.CreateOutput().Write(MetricsTable.Of($"{manifest.Version}{(manifest.Label is null ? "" : $" [{manifest.Label}]")} on {set.SongCount} songs", metrics));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreatePredict()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder.", Required = true };
        var data = new Option<string>("--data") { Description = "Dataset (Parquet).", Required = true };
        var output = new Option<string>("--out") { Description = "CSV to write: track_id and one column per task.", Required = true };
        var command = new Command("predict", "Write a model's predictions for every song of a dataset.") { model, data, output };
        command.SetAction(async (result, cancellationToken) =>
        {
            var loaded = await LoadAsync(result.GetValue(model)!, result.GetValue(data)!, "all", cancellationToken);
            if (loaded is null)
            {
                return ExitCodes.BadInput;
            }

            var (head, manifest, set) = loaded.Value;
            var predictions = Predictor.PredictSongs(head, set);
            await using var writer = new StreamWriter(result.GetValue(output)!);
            await using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
            csv.WriteField("track_id");
            foreach (var task in set.Tasks)
            {
                csv.WriteField(task.Name);
            }

            await csv.NextRecordAsync();
            for (var s = 0; s < set.SongCount; s++)
            {
                csv.WriteField(set.TrackIds[s]);
                for (var t = 0; t < set.Tasks.Count; t++)
                {
                    csv.WriteField(predictions[s * set.Tasks.Count + t].ToString("R", CultureInfo.InvariantCulture));
                }

                await csv.NextRecordAsync();
            }

            CliConsole.Note($"wrote {set.SongCount} predictions of {manifest.Version}{(manifest.Label is null ? "" : $" [{manifest.Label}]")} to {result.GetValue(output)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<(ApexHead Head, CheckpointManifest Manifest, TrainingSet Set)?> LoadAsync(string modelPath, string dataPath, string split, CancellationToken cancellationToken)
    {
        try
        {
            var (head, manifest) = HeadCheckpoint.Load(modelPath);
            var info = await ParquetDataset.ReadInfoAsync(dataPath, cancellationToken);
            if (info.Layers != head.Architecture.Layers || info.Hidden != head.Architecture.Hidden)
            {
                CliConsole.Fail($"{dataPath} holds {info.Layers} × {info.Hidden} embeddings but the model takes {head.Architecture.Layers} × {head.Architecture.Hidden}.");
                return null;
            }

            var mode = Enum.Parse<InputMode>(manifest.InputMode, ignoreCase: true);
            List<SongRow> rows;
            if (split == "all")
            {
                rows = [];
                await foreach (var group in ParquetDataset.ReadRowGroupsAsync(dataPath, cancellationToken))
                {
                    rows.AddRange(mode == InputMode.Song ? group.Select(r => TrainingSet.ToSongMean(r, info)) : group);
                }
            }
            else
            {
                var parts = await SplitParts.ReadAsync(dataPath, info, manifest.SplitSeed, mode, trainInMemory: split == "train", cancellationToken);
                rows = split switch { "test" => parts.Test, "validation" => parts.Validation, _ => parts.Train };
            }

            return (head, manifest, TrainingSet.Build(rows, info, head.Architecture.Tasks, mode));
        }
        catch (InvalidDataException ex)
        {
            CliConsole.Fail(ex.Message);
            return null;
        }
    }
}
