using System.CommandLine;
using System.Text.Json;
using Apex.Cli.Inputs;
using Apex.Core.Encoders;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Training;
using Spectre.Console;

namespace Apex.Cli.Commands;

/// <summary><c>apex score</c>: audio → encoder → head: the seven scores per file.</summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var audio = new Argument<string[]>("audio") { Description = "Audio files or folders.", Arity = ArgumentArity.ZeroOrMore };
        var inputList = new Option<string?>("--input-list") { Description = "JSON Lines file of {\"path\", \"start_seconds\"?, \"end_seconds\"?}." };
        var model = new Option<string>("--model") { Description = "Head checkpoint folder (apex train).", Required = true };
        var encoder = EncoderOptionsBinder.EncoderOption();
        var device = EncoderOptionsBinder.DeviceOption();
        var maxBatch = EncoderOptionsBinder.MaxBatchOption();
        var threads = EncoderOptionsBinder.ThreadsOption();
        var segments = new Option<bool>("--segments") { Description = "Also give the scores of every 30 s segment." };
        var format = new Option<string>("--format")
        {
            Description = "table; json (one nested object per file); jsonl (one flat line per file: track_id = the file name without extension and the seven scores, what apex arena-eval --scores reads).",
            DefaultValueFactory = _ => "table",
        };
        format.AcceptOnlyFromAmong("json", "jsonl", "table");
        var command = new Command("score", "Score audio: predicted streams and likes scores (0..100) and the five aesthetic scores (1..5).")
        {
            audio, inputList, model, encoder, device, maxBatch, threads, segments, format,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (AudioInputs.ResolveOrReport(result.GetValue(audio) ?? [], result.GetValue(inputList), "score") is not { } requests)
            {
                return ExitCodes.BadInput;
            }

            Apex.Training.Model.ApexHead head;
            CheckpointManifest manifest;
            try
            {
                (head, manifest) = HeadCheckpoint.Load(result.GetValue(model)!);
            }
            catch (InvalidDataException ex)
            {
                CliConsole.Fail(ex.Message);
                return ExitCodes.BadInput;
            }

            using var loggers = CliConsole.CreateLoggerFactory(verbose: false);
            using var onnx = EncoderOptionsBinder.Open(EncoderOptionsBinder.Bind(result, encoder, device, maxBatch, threads), loggers);
            if (onnx is null)
            {
                return ExitCodes.BadInput;
            }

            if (onnx.Info.LayerCount != head.Architecture.Layers || onnx.Info.HiddenSize != head.Architecture.Hidden)
            {
                CliConsole.Fail($"the encoder gives {onnx.Info.LayerCount} × {onnx.Info.HiddenSize} embeddings but the model takes {head.Architecture.Layers} × {head.Architecture.Hidden}.");
                return ExitCodes.BadInput;
            }

            if (EncoderIdentity.Mismatch(manifest.Encoder, onnx.Info.Identity) is { } mismatch)
            {
                CliConsole.Fail($"model {manifest.Version} cannot score with this encoder: {mismatch}. Give --encoder the model it was trained with.");
                return ExitCodes.BadInput;
            }

            var mode = Enum.Parse<InputMode>(manifest.InputMode, ignoreCase: true);
            var version = manifest.Label is null ? manifest.Version : $"{manifest.Version} [{manifest.Label}]";
            var embedder = EncoderOptionsBinder.Embedder(onnx, loggers);
            var json = result.GetValue(format) == "json";
            var jsonl = result.GetValue(format) == "jsonl";
            var table = new Table { Caption = new TableTitle(Markup.Escape($"model {version}")) }.AddColumn("file");
            foreach (var task in head.Architecture.Tasks)
            {
                table.AddColumn(task.Name);
            }

            var failed = 0;
            await Progress.RunAsync("Scoring", requests.Count, show: requests.Count > 1, async ticker =>
            {
                await foreach (var item in embedder.EmbedManyAsync(requests, cancellationToken: cancellationToken))
                {
                    ticker.Advance(Path.GetFileName(item.Request.Path));
                    if (item.Embedding is not { } embedding)
                    {
                        failed++;
                        CliConsole.Fail(item.Error!);
                        continue;
                    }

                    var scores = HeadScorer.Score(head, mode, embedding.Values, embedding.SegmentCount);
                    if (jsonl)
                    {
                        var line = new Dictionary<string, object?> { ["track_id"] = Path.GetFileNameWithoutExtension(embedding.Path) };
                        foreach (var (name, value) in Named(scores.Tasks, scores.Song))
                        {
                            line[name] = value;
                        }

                        line["path"] = embedding.Path;
                        line["model"] = manifest.Version;
                        line["model_label"] = manifest.Label;
                        Console.WriteLine(JsonSerializer.Serialize(line));
                    }
                    else if (json)
                    {
                        Console.WriteLine(JsonSerializer.Serialize(new
                        {
                            path = embedding.Path,
                            duration_seconds = Math.Round(embedding.DurationSeconds, 6),
                            model = manifest.Version,
                            model_label = manifest.Label,
                            scores = Named(scores.Tasks, scores.Song),
                            segments = result.GetValue(segments) ? scores.Segments.Select(s => Named(scores.Tasks, s)).ToArray() : null,
                        }));
                    }
                    else
                    {
                        table.AddRow([Markup.Escape(Path.GetFileName(embedding.Path)), .. scores.Song.Select(v => v.ToString("0.00"))]);
                    }
                }
            });

            if (!json && !jsonl)
            {
                CliConsole.CreateOutput().Write(table);
            }

            return failed > 0 ? ExitCodes.SomeFailed : ExitCodes.Ok;
        });
        return command;
    }

    private static Dictionary<string, float> Named(IReadOnlyList<Apex.Training.Model.ApexTask> tasks, float[] values) =>
        tasks.Select((t, i) => (t.Name, values[i])).ToDictionary(p => p.Name, p => p.Item2);
}
