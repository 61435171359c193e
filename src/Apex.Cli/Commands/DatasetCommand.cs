using System.CommandLine;
using Apex.Cli.Datasets;
using Apex.Embedding;
using Apex.Training.Data;

namespace Apex.Cli.Commands;

/// <summary><c>apex dataset</c>: make training datasets.</summary>
internal static class DatasetCommand
{
    public static Command Create()
    {
        var songs = new Option<int>("--songs") { Description = "Number of songs.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var output = new Option<string>("--out") { Description = "Parquet file to write.", Required = true };
        var hidden = new Option<int>("--hidden") { Description = "Embedding width per layer (768 for MERT-95M).", DefaultValueFactory = _ => 768 };
        var layers = new Option<int>("--layers") { Description = "Layer vectors per segment.", DefaultValueFactory = _ => 4 };
        var maxSegments = new Option<int>("--max-segments") { Description = "Segments per song are drawn from 1..this.", DefaultValueFactory = _ => 6 };
        var synth = new Command("synth", "Write a SYNTHETIC dataset with a planted signal (for tests and benchmarks; not real engagement data).")
        {
            songs, seed, output, hidden, layers, maxSegments,
        };
        synth.SetAction(async (result, cancellationToken) =>
        {
            var n = result.GetValue(songs);
            if (n < 10 || result.GetValue(hidden) < 1 || result.GetValue(layers) < 1 || result.GetValue(maxSegments) < 1)
            {
                CliConsole.Fail("--songs must be at least 10; --hidden, --layers and --max-segments at least 1.");
                return ExitCodes.BadInput;
            }

            var data = new SyntheticDataset(n, result.GetValue(seed), result.GetValue(layers), result.GetValue(hidden), result.GetValue(maxSegments));
            var path = result.GetValue(output)!;
            await Progress.RunAsync("Writing songs", n, show: true, async ticker =>
                await ParquetDataset.WriteAsync(path, data.Rows().Select(r => { ticker.Advance(); return r; }), data.Info, cancellationToken: cancellationToken));
            CliConsole.Note($"wrote {n} synthetic songs ({result.GetValue(layers)} × {result.GetValue(hidden)} per segment) to {path}");
            return ExitCodes.Ok;
        });
        return new Command("dataset", "Build or synthesise training datasets (Parquet).") { BuildCommand(), synth };
    }

    private static Command BuildCommand()
    {
        var audio = new Option<string>("--audio") { Description = "Folder of audio files named <track_id>.<ext> (searched recursively).", Required = true };
        var labels = new Option<string>("--labels") { Description = "CSV: track_id, platform, created_at, streams, likes [, coherence, musicality, memorability, clarity, naturalness, instrumental].", Required = true };
        var output = new Option<string>("--out") { Description = "Parquet file to write; embeddings are cached beside it (<out>.embeddings/) so a rerun resumes.", Required = true };
        var encoder = EncoderOptionsBinder.EncoderOption();
        var device = EncoderOptionsBinder.DeviceOption();
        var maxBatch = EncoderOptionsBinder.MaxBatchOption();
        var threads = EncoderOptionsBinder.ThreadsOption();
        var labeling = new LabelingOptionsBinder();
        var build = new Command("build", "Embed labelled audio and write a training dataset, curated and labelled as the paper builds its dataset.")
        {
            audio, labels, output, encoder, device, maxBatch, threads,
        };
        foreach (var option in labeling.All)
        {
            build.Options.Add(option);
        }

        build.SetAction(async (result, cancellationToken) =>
        {
            if (!Directory.Exists(result.GetValue(audio)))
            {
                CliConsole.Fail($"{result.GetValue(audio)}: no such folder.");
                return ExitCodes.BadInput;
            }

            using var loggers = CliConsole.CreateLoggerFactory(verbose: false);
            using var onnx = EncoderOptionsBinder.Open(EncoderOptionsBinder.Bind(result, encoder, device, maxBatch, threads), loggers);
            if (onnx is null)
            {
                return ExitCodes.BadInput;
            }

            var embedder = EncoderOptionsBinder.Embedder(onnx, loggers);
            try
            {
                var summary = await BuildWithProgressAsync(result.GetValue(audio)!, result.GetValue(labels)!, embedder, result.GetValue(output)!, created => labeling.Bind(result, created), cancellationToken);
                foreach (var line in summary.Labeling)
                {
                    CliConsole.Note(line);
                }

                CliConsole.Note($"{summary.Written} songs written to {result.GetValue(output)} ({summary.Embedded} embedded now, {summary.Reused} from the cache); skipped: {summary.BadLabelRows} bad label rows, {summary.WithoutAudio} labelled tracks without audio, {summary.BadAudio} unreadable audio files; {summary.AudioWithoutLabels} audio files had no labels.");
                return summary.Written > 0 ? ExitCodes.Ok : ExitCodes.SomeFailed;
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
            {
                CliConsole.Fail(ex.Message);
                return ExitCodes.BadInput;
            }
        });
        return build;
    }

    private static async Task<BuildSummary> BuildWithProgressAsync(string audio, string labels, AudioEmbedder embedder, string output,
        Func<IEnumerable<DateTimeOffset?>, Apex.Core.Popularity.LabelingOptions> labeling, CancellationToken cancellationToken)
    {
        BuildSummary? summary = null;
        await Progress.RunAsync("Embedding tracks", 1, show: true, async ticker =>
            summary = await DatasetBuilder.BuildAsync(audio, labels, embedder, output, labeling, CliConsole.Note, ticker, cancellationToken));
        return summary!;
    }
}
