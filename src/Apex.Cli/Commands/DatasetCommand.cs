using System.CommandLine;
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
            await Progress.RunAsync("Writing songs", n, show: true, async advance =>
                await ParquetDataset.WriteAsync(path, data.Rows().Select(r => { advance(null); return r; }), data.Info, cancellationToken: cancellationToken));
            CliConsole.Note($"wrote {n} synthetic songs ({result.GetValue(layers)} × {result.GetValue(hidden)} per segment) to {path}");
            return ExitCodes.Ok;
        });
        return new Command("dataset", "Build or synthesise training datasets (Parquet).") { synth };
    }
}
