using System.CommandLine;
using System.Diagnostics;
using Apex.Cli.Inputs;
using Apex.Cli.Output;
using Apex.Embedding;
using Spectre.Console;

namespace Apex.Cli.Commands;

/// <summary><c>apex embed</c>: audio files in, MERT layer embeddings out.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var audio = new Argument<string[]>("audio") { Description = "Audio files or folders (searched recursively for audio extensions).", Arity = ArgumentArity.ZeroOrMore };
        var encoder = EncoderOptionsBinder.EncoderOption();
        var device = EncoderOptionsBinder.DeviceOption();
        var maxBatch = EncoderOptionsBinder.MaxBatchOption();
        var threads = EncoderOptionsBinder.ThreadsOption();
        var inputList = new Option<string?>("--input-list") { Description = "JSON Lines file, one {\"path\": …, \"start_seconds\"?: …, \"end_seconds\"?: …} per line." };
        var format = new Option<string>("--format") { Description = "json: one object per file per line on stdout; table: a summary table.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("json", "table");
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log more (provider choice, model metadata)." };

        var command = new Command("embed", "Embed audio with the MERT encoder (ONNX Runtime): segments × layers × hidden per file.")
        {
            audio, inputList, encoder, device, maxBatch, threads, format, verbose,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            result.GetValue(audio) ?? [],
            result.GetValue(inputList),
            EncoderOptionsBinder.Bind(result, encoder, device, maxBatch, threads),
            result.GetValue(format) == "json",
            result.GetValue(verbose),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string[] paths, string? inputList, EncoderSettings settings, bool json, bool verbose, CancellationToken cancellationToken)
    {
        if (AudioInputs.ResolveOrReport(paths, inputList, "embed") is not { } requests)
        {
            return ExitCodes.BadInput;
        }

        using var loggers = CliConsole.CreateLoggerFactory(verbose);
        using var encoder = EncoderOptionsBinder.Open(settings, loggers);
        if (encoder is null)
        {
            return ExitCodes.BadInput;
        }

        var embedder = EncoderOptionsBinder.Embedder(encoder, loggers);
        var rows = new List<AudioEmbedding>();
        var failed = 0;
        var clock = Stopwatch.StartNew();
        using var stdout = Console.OpenStandardOutput();
        await Progress.RunAsync("Embedding", requests.Count, show: requests.Count > 1, async ticker =>
        {
            await foreach (var result in embedder.EmbedManyAsync(requests, cancellationToken: cancellationToken))
            {
                if (result.Embedding is { } embedding)
                {
                    if (json)
                    {
                        EmbeddingJsonWriter.Write(stdout, embedding);
                    }
                    else
                    {
                        rows.Add(embedding);
                    }
                }
                else
                {
                    failed++;
                    CliConsole.Fail(result.Error!);
                }

                ticker.Advance(Path.GetFileName(result.Request.Path));
            }
        });

        if (!json)
        {
            CliConsole.CreateOutput().Write(SummaryTable(rows));
        }

        CliConsole.Note($"{requests.Count - failed} of {requests.Count} file(s) embedded, {failed} failed; encoder {Path.GetFileName(encoder.Info.ModelPath)} on {encoder.Info.Runs}; {clock.Elapsed.TotalSeconds:0.0} s.");
        return failed > 0 ? ExitCodes.SomeFailed : ExitCodes.Ok;
    }

    private static Table SummaryTable(IEnumerable<AudioEmbedding> rows)
    {
        var table = new Table().AddColumns("file", "duration (s)", "segments", "layers × hidden", "song-mean norm");
        if (rows.FirstOrDefault() is { } first)
        {
            table.Caption = new TableTitle($"layers {string.Join(",", first.Layers)}");
        }

        foreach (var row in rows)
        {
            var norm = Math.Sqrt(row.SongMean().Sum(v => (double)v * v));
            table.AddRow(
                Markup.Escape(Path.GetFileName(row.Path)),
                row.DurationSeconds.ToString("0.00"),
                row.SegmentCount.ToString(),
                $"{row.Layers.Count} × {row.Hidden}",
                norm.ToString("0.000"));
        }

        return table;
    }
}
