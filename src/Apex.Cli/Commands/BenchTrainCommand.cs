using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench train</c>: one training epoch of the APEX head (model C: uncertainty loss, two shared
/// layers, full tasks) over N random samples at 4 × 768, against the same network and step in PyTorch
/// eager (tools/bench-train) on the same machine in the same run.
/// </summary>
internal static class BenchTrainCommand
{
    public static Command Create()
    {
        var samples = new Option<int>("--samples") { Description = "Samples in the epoch (211,000 = the paper's songs in song mode).", DefaultValueFactory = _ => 211_000 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 512 };
        var threads = new Option<int>("--threads") { Description = "libtorch / PyTorch threads (0: libtorch's default).", DefaultValueFactory = _ => 2 };
        var pytorch = new Option<bool>("--pytorch") { Description = "Also time PyTorch eager through tools/bench-train/train_bench.py." };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var mode = new Option<string>("--mode") { Description = "song: samples from memory; segment: a synthetic dataset of --songs songs written to Parquet and streamed, as apex train does in segment mode.", DefaultValueFactory = _ => "song" };
        mode.AcceptOnlyFromAmong("song", "segment");
        var songs = new Option<int>("--songs") { Description = "Songs in the segment-mode dataset (1..6 segments each).", DefaultValueFactory = _ => 20_000 };
        var command = new Command("train", "Time one training epoch of the head (samples/s), beside PyTorch eager.") { samples, batch, threads, pytorch, output, mode, songs };
        command.SetAction(async (result, cancellationToken) =>
        {
            var n = result.GetValue(samples);
            var size = result.GetValue(batch);
            var t = result.GetValue(threads);
            if (t > 0)
            {
                TorchSharp.torch.set_num_threads(t);
            }

            var segmentMode = result.GetValue(mode) == "segment";
            double seconds, validationSeconds;
            (seconds, validationSeconds, n) = segmentMode ? await TimeStreamedEpochAsync(result.GetValue(songs), size, cancellationToken) : TimeEpoch(n, size);

            CliConsole.Note($"TorchSharp: {n / seconds:0} samples/s ({seconds:0.0} s per epoch of {n})");
            JsonElement? torch = null;
            if (result.GetValue(pytorch))
            {
                torch = RunPyTorch(n, size, t == 0 ? Environment.ProcessorCount : t);
            }

            var md = new StringBuilder();
            var inv = CultureInfo.InvariantCulture;
            md.AppendLine(inv, $"### apex bench train ({(segmentMode ? $"segment mode, streamed from Parquet: {result.GetValue(songs)} songs" : "song mode, from memory")}): {n} samples × 4 × 768, batch {size}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            md.AppendLine();
            md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores; TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version} (libtorch {TorchSharp.torch.__version__}, CPU, {TorchSharp.torch.get_num_threads()} threads). Model C (uncertainty, 2 shared layers, 7 tasks), AdamW, one epoch, random data.");
            md.AppendLine();
            md.AppendLine("| framework | epoch (s) | samples/s | epoch time vs PyTorch |");
            md.AppendLine("|---|---|---|---|");
            var torchSeconds = torch?.GetProperty("epoch_seconds").GetDouble();
            md.AppendLine(inv, $"| TorchSharp (apex) | {seconds:0.0} | {n / seconds:0} | {(torchSeconds is { } ts ? (seconds / ts).ToString("0.00", inv) + "×" : "–")} |");
            if (torch is { } tj)
            {
                md.AppendLine(inv, $"| PyTorch {tj.GetProperty("torch").GetString()} eager | {torchSeconds:0.0} | {tj.GetProperty("samples_per_s").GetDouble():0} | 1.00× |");
            }

            md.AppendLine();
            md.AppendLine(inv, $"(The validation pass after the epoch, {validationSeconds:0.0} s on 1,024 samples, is not counted.) Command: `apex bench train {(segmentMode ? $"--mode segment --songs {result.GetValue(songs)}" : $"--samples {n}")} --batch-size {size} --threads {t}{(torch is null ? "" : " --pytorch")}`{(segmentMode ? " (PyTorch: the same number of samples from memory)" : "")}");
            md.AppendLine();
            Console.Write(md.ToString());
            if (result.GetValue(output) is { } file)
            {
                await File.AppendAllTextAsync(file, md.ToString(), cancellationToken);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static (double EpochSeconds, double ValidationSeconds, int Samples) TimeEpoch(int samples, int batchSize)
    {
        const int Layers = 4, Hidden = 768;
        var tasks = ApexTasks.Full;
        var random = new Random(1);
        var features = new float[(long)samples * Layers * Hidden];
        for (long i = 0; i < features.LongLength; i++)
        {
            features[i] = (float)(random.NextDouble() * 2 - 1);
        }

        var labels = new float[samples * tasks.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            var task = tasks[i % tasks.Count];
            labels[i] = random.NextDouble() < 0.1 ? float.NaN : (float)(task.Low + task.Span * random.NextDouble());
        }

        var train = TrainingSet.FromArrays(Layers, Hidden, tasks, features, labels);
        var validation = TrainingSet.FromArrays(Layers, Hidden, tasks, features.AsSpan(0, 1024 * Layers * Hidden).ToArray(), labels.AsSpan(0, 1024 * tasks.Count).ToArray());
        var epochEnd = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        Trainer.Train(train, validation, new TrainingOptions { Epochs = 1, BatchSize = batchSize }, progress: _ => epochEnd = clock.Elapsed);
        var total = clock.Elapsed.TotalSeconds;
        // The progress callback fires after the validation pass; time that pass alone to subtract it.
        var validationClock = Stopwatch.StartNew();
        using var head = new ApexHead(new HeadArchitecture(Layers, Hidden, HeadArchitecture.TrunkOf(2), tasks));
        using var loss = new MultiTaskLoss(LossStrategy.Uncertainty, tasks);
        Trainer.Loss(head, loss, validation, batchSize, TorchSharp.torch.CPU);
        var validationSeconds = validationClock.Elapsed.TotalSeconds;
        return (epochEnd.TotalSeconds - validationSeconds, validationSeconds, samples);
    }

    /// <summary>Writes a synthetic segment-mode dataset, then times one epoch streamed from it.</summary>
    private static async Task<(double EpochSeconds, double ValidationSeconds, int Samples)> TimeStreamedEpochAsync(int songs, int batchSize, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"apex-bench-train-{songs}.parquet");
        var data = new SyntheticDataset(songs, Seed: 1);
        if (!File.Exists(path))
        {
            CliConsole.Note($"writing {songs} synthetic songs to {path} (kept for reruns)...");
            await ParquetDataset.WriteAsync(path, data.Rows(), data.Info, cancellationToken: cancellationToken);
        }

        var all = Enumerable.Range(0, songs).ToHashSet();
        var source = new ParquetSampleSource(path, data.Info, ApexTasks.Full, InputMode.Segment, all);
        var first = await ParquetDataset.ReadRowGroupAsync(path, 0, cancellationToken);
        var validation = TrainingSet.Build(first.Take(300).ToList(), data.Info, ApexTasks.Full, InputMode.Segment);
        var count = 0;
        var epochEnd = TimeSpan.Zero;
        var counting = new CountingSource(source, n => count += n);
        var clock = Stopwatch.StartNew();
        Trainer.Train(counting, validation, new TrainingOptions { Epochs = 1, BatchSize = batchSize, Mode = InputMode.Segment }, progress: _ => epochEnd = clock.Elapsed, cancellationToken: cancellationToken);
        var validationClock = Stopwatch.StartNew();
        using var head = new ApexHead(new HeadArchitecture(4, 768, HeadArchitecture.TrunkOf(2), ApexTasks.Full));
        using var loss = new MultiTaskLoss(LossStrategy.Uncertainty, ApexTasks.Full);
        Trainer.Loss(head, loss, validation, batchSize, TorchSharp.torch.CPU);
        var validationSeconds = validationClock.Elapsed.TotalSeconds;
        return (epochEnd.TotalSeconds - validationSeconds, validationSeconds, count);
    }

    /// <summary>Counts the samples a source hands out.</summary>
    private sealed class CountingSource(ISampleSource inner, Action<int> counted) : ISampleSource
    {
        public int Layers => inner.Layers;

        public int Hidden => inner.Hidden;

        public IReadOnlyList<ApexTask> Tasks => inner.Tasks;

        public IEnumerable<SampleBatch> Epoch(int batchSize, Random random)
        {
            foreach (var batch in inner.Epoch(batchSize, random))
            {
                counted(batch.Count);
                yield return batch;
            }
        }
    }

    private static JsonElement? RunPyTorch(int samples, int batchSize, int threads)
    {
        var script = Path.Combine(Environment.CurrentDirectory, "tools", "bench-train", "train_bench.py");
        if (!File.Exists(script))
        {
            CliConsole.Fail($"{script} not found (run from the repository root); PyTorch skipped.");
            return null;
        }

        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", $"\"{script}\" --samples {samples} --batch-size {batchSize} --threads {threads} --json") { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            CliConsole.Fail($"PyTorch bench failed (exit {process.ExitCode}); is python3-torch installed?");
            return null;
        }

        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.Clone();
    }
}
