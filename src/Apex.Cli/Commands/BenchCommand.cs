using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Apex.Audio.Decoding;
using Apex.Embedding;
using Apex.Core.Encoders;
using Apex.Embedding.Encoding;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Training;
using Microsoft.ML.OnnxRuntime;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench embed</c>: decode speed, encoder throughput (bare ONNX Runtime session, the encoder,
/// and the whole embed path) per batch size, peak memory, and PyTorch eager on the same machine.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--encoder") { Description = "Encoder to time (default: the bundled tiny fixture). Use tools/export-mert random-full for a full-size MERT-95M." };
        var batches = new Option<string>("--batches") { Description = "Batch sizes, comma-separated.", DefaultValueFactory = _ => "1,4,8" };
        var segments = new Option<int>("--segments") { Description = "Segments timed per batch size on the bare session (rounded up to whole batches).", DefaultValueFactory = _ => 8 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0: ORT's default).", DefaultValueFactory = _ => 0 };
        var pytorch = new Option<string>("--pytorch") { Description = "PyTorch eager model to time beside it via tools/export-mert: tiny, full or none.", DefaultValueFactory = _ => "none" };
        pytorch.AcceptOnlyFromAmong("tiny", "full", "none");
        var pytorchBatches = new Option<string?>("--pytorch-batches") { Description = "Batch sizes for PyTorch (default: --batches)." };
        var audio = new Option<string?>("--audio") { Description = "Folder of audio for the decode and embed-path runs (default: the bundled samples)." };
        var output = new Option<string?>("--out") { Description = "Append the results, as a Markdown section, to this file (e.g. benchmarks/RESULTS.md)." };
        var sessionSettings = new Option<bool>("--session-settings") { Description = "Also time the bare session (batch 1) under other ONNX Runtime settings: optimisation levels, spinning, memory arena." };
        var int8 = new Option<string?>("--int8") { Description = "An INT8 encoder quantized from --encoder (tools/export-mert --quantize int8): timed beside it (first, so its peak memory is its own), with the agreement of their pooled vectors on the audio." };
        var head = new Option<string?>("--head") { Description = "With --int8: a head checkpoint trained on --encoder's embeddings; reports how far its predictions move on INT8 embeddings." };
        var embed = new Command("embed", "Time decoding and encoding.") { model, batches, segments, threads, pytorch, pytorchBatches, audio, output, sessionSettings, int8, head };
        embed.SetAction((result, cancellationToken) => RunAsync(
            new BenchSettings(
                result.GetValue(model),
                ParseBatches(result.GetValue(batches)!),
                result.GetValue(segments),
                result.GetValue(threads),
                result.GetValue(pytorch)!,
                ParseBatches(result.GetValue(pytorchBatches) ?? result.GetValue(batches)!),
                result.GetValue(audio) ?? BundledAssets.Samples,
                result.GetValue(output),
                result.GetValue(sessionSettings),
                result.GetValue(int8),
                result.GetValue(head)),
            cancellationToken));
        return new Command("bench", "Benchmarks; results go to stdout as Markdown.") { embed, BenchTrainCommand.Create(), BenchIngestCommand.Create(), BenchScoringCommand.Create(), BenchArenaCommand.Create(), BenchArenaEvalCommand.Create(), BenchDataParallelCommand.Create(), BenchConsoleCommand.Create(), BenchCatalogueCommand.Create() };
    }

    private sealed record BenchSettings(string? Model, int[] Batches, int Segments, int Threads, string PyTorch, int[] PyTorchBatches, string AudioFolder, string? Output, bool SessionSettings, string? Int8, string? Head);

    private sealed record SessionVariant(string Name, Action<SessionOptions> Apply);

    /// <summary>The settings compared by --session-settings; the first is what the encoder uses.</summary>
    private static readonly SessionVariant[] SessionVariants =
    [
        new("ORT_ENABLE_ALL (the encoder's setting)", _ => { }),
        new("ORT_ENABLE_EXTENDED", o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
        new("ORT_ENABLE_BASIC", o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC),
        new("ALL + session.intra_op.allow_spinning=0", o => o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0")),
        new("ALL + CPU memory arena off", o => o.EnableCpuMemArena = false),
    ];

    private sealed record EncoderRow(string Precision, int Batch, double BareSegmentsPerSecond, double EmbedPathSegmentsPerSecond, long PeakRssBytes);

    /// <summary>INT8 against FP32 on the same audio: pooled-vector agreement, and the largest move of each head task's prediction.</summary>
    private sealed record Int8Comparison(EmbeddingAgreement Agreement, EncoderQuantization? Declared, IReadOnlyList<(string Task, double MaxDiff)> Predictions);

    private static int[] ParseBatches(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var modelPath = settings.Model ?? BundledAssets.TinyEncoder;
        var files = Directory.EnumerateFiles(settings.AudioFolder).Where(f => Inputs.AudioInputs.AudioExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0 || !File.Exists(modelPath) || (settings.Int8 is { } missing && !File.Exists(missing)))
        {
            CliConsole.Fail(files.Count == 0 ? $"no audio in {settings.AudioFolder}" : $"encoder not found: {(File.Exists(modelPath) ? settings.Int8 : modelPath)}");
            return ExitCodes.BadInput;
        }

        if (settings.Head is not null && settings.Int8 is null)
        {
            CliConsole.Fail("--head compares predictions on FP32 and INT8 embeddings: give --int8 too.");
            return ExitCodes.BadInput;
        }

        var report = new StringBuilder();
        var (audioSeconds, decodeSeconds) = await TimeDecodeAsync(files, cancellationToken);
        CliConsole.Note($"decode: {audioSeconds:0.0} s of audio in {decodeSeconds:0.00} s");

        var rows = new List<EncoderRow>();
        foreach (var (precision, encoderPath) in settings.Int8 is { } quantized ? [("int8", quantized), ("fp32", modelPath)] : new[] { ("", modelPath) })
        {
            foreach (var batch in settings.Batches)
            {
                var options = new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = batch, IntraOpThreads = settings.Threads, WarmupRuns = 2 };
                var bare = TimeBareSession(encoderPath, options, batch, settings.Segments, _ => { });
                CliConsole.Note($"{precision} batch {batch}: bare ORT session {bare:0.000} segments/s");
                var path = await TimeEmbedPathAsync(encoderPath, options, files, cancellationToken);
                CliConsole.Note($"{precision} batch {batch}: apex embed path {path:0.000} segments/s");
                rows.Add(new EncoderRow(precision, batch, bare, path, Process.GetCurrentProcess().PeakWorkingSet64));
            }
        }

        var comparison = settings.Int8 is null ? null : await CompareInt8Async(modelPath, settings.Int8, settings.Head, files, cancellationToken);

        var variants = new List<(string Name, double SegmentsPerSecond)>();
        if (settings.SessionSettings)
        {
            foreach (var variant in SessionVariants)
            {
                var options = new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1, IntraOpThreads = settings.Threads, WarmupRuns = 2 };
                variants.Add((variant.Name, TimeBareSession(modelPath, options, 1, settings.Segments, variant.Apply)));
                CliConsole.Note($"{variant.Name}: {variants[^1].SegmentsPerSecond:0.000} segments/s");
            }
        }

        var pytorch = settings.PyTorch == "none" ? null : RunPyTorch(settings.PyTorch, settings.PyTorchBatches, settings.Threads);
        WriteReport(report, settings, modelPath, files.Count, audioSeconds, decodeSeconds, rows, variants, pytorch, comparison);
        Console.Out.Write(report.ToString());
        if (settings.Output is not null)
        {
            await File.AppendAllTextAsync(settings.Output, report.ToString(), cancellationToken);
            CliConsole.Note($"appended to {settings.Output}");
        }

        return ExitCodes.Ok;
    }

    private static async Task<(double AudioSeconds, double WallSeconds)> TimeDecodeAsync(List<string> files, CancellationToken cancellationToken)
    {
        var decoder = new FfmpegAudioDecoder();
        await decoder.DecodeAsync(files[0], cancellationToken: cancellationToken); // warm the page cache and ffmpeg
        var clock = Stopwatch.StartNew();
        var seconds = 0.0;
        foreach (var file in files)
        {
            seconds += (await decoder.DecodeAsync(file, cancellationToken: cancellationToken)).DurationSeconds;
        }

        return (seconds, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The ceiling: one InferenceSession run on a prepared input, nothing else.</summary>
    private static double TimeBareSession(string modelPath, EncoderOptions options, int batch, int segments, Action<SessionOptions> variant)
    {
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = options.IntraOpThreads };
        variant(sessionOptions);
        using var session = new InferenceSession(modelPath, sessionOptions);
        var samples = 720_000;
        var input = new float[batch * samples];
        var random = new Random(1234);
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (float)(random.NextDouble() * 0.2 - 0.1);
        }

        using var tensor = OrtValue.CreateTensorValueFromMemory(input, [batch, samples]);
        using var runOptions = new RunOptions();
        for (var i = 0; i < options.WarmupRuns; i++)
        {
            using var warm = session.Run(runOptions, [EncoderContract.InputName], [tensor], [EncoderContract.OutputName]);
        }

        var runs = Math.Max(1, (segments + batch - 1) / batch);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++)
        {
            using var outputs = session.Run(runOptions, [EncoderContract.InputName], [tensor], [EncoderContract.OutputName]);
        }

        return runs * batch / clock.Elapsed.TotalSeconds;
    }

    /// <summary>What <c>apex embed</c> does: decode, segment, batch, copy, run, copy back.</summary>
    private static async Task<double> TimeEmbedPathAsync(string modelPath, EncoderOptions options, List<string> files, CancellationToken cancellationToken)
    {
        using var encoder = new OnnxAudioEncoder(modelPath, options);
        var embedder = new AudioEmbedder(new FfmpegAudioDecoder(new AudioOptions { SampleRate = encoder.Info.SampleRate }), encoder);
        var clock = Stopwatch.StartNew();
        var segments = 0;
        await foreach (var result in embedder.EmbedManyAsync(files.Select(f => new EmbedRequest(f)), cancellationToken: cancellationToken))
        {
            segments += result.Embedding?.SegmentCount ?? throw new InvalidOperationException(result.Error);
        }

        return segments / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Embeds every file with both encoders one segment at a time (as the export's gate did) and compares.</summary>
    private static async Task<Int8Comparison> CompareInt8Async(string fp32Path, string int8Path, string? headPath, List<string> files, CancellationToken cancellationToken)
    {
        var options = new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1 };
        using var fp32 = new OnnxAudioEncoder(fp32Path, options);
        using var int8 = new OnnxAudioEncoder(int8Path, options);
        var head = headPath is null ? default : HeadCheckpoint.Load(headPath);
        if (head.Manifest is { } manifest && EncoderIdentity.Mismatch(manifest.Encoder, fp32.Info.Identity) is { } mismatch)
        {
            throw new ArgumentException($"--head: {mismatch}");
        }

        var decoder = new FfmpegAudioDecoder(new AudioOptions { SampleRate = fp32.Info.SampleRate });
        var agreement = EmbeddingAgreement.None;
        var moves = head.Head is null ? [] : new double[head.Head.Architecture.Tasks.Count];
        foreach (var file in files)
        {
            var audio = await decoder.DecodeAsync(file, cancellationToken: cancellationToken);
            var a = fp32.Encode(audio.Segments, cancellationToken);
            var b = int8.Encode(audio.Segments, cancellationToken);
            agreement = agreement.Add(EmbeddingAgreement.Of(a, b, fp32.Info.HiddenSize));
            if (head.Head is { } model)
            {
                var mode = Enum.Parse<InputMode>(head.Manifest.InputMode, ignoreCase: true);
                var before = HeadScorer.Score(model, mode, a, audio.Segments.Count).Song;
                var after = HeadScorer.Score(model, mode, b, audio.Segments.Count).Song;
                for (var t = 0; t < moves.Length; t++)
                {
                    moves[t] = Math.Max(moves[t], Math.Abs(before[t] - after[t]));
                }
            }
        }

        var tasks = head.Head?.Architecture.Tasks.Select((t, i) => (t.Name, moves[i])).ToList() ?? [];
        return new Int8Comparison(agreement, int8.Info.Quantization, tasks);
    }

    private static void WriteComparison(StringBuilder md, List<EncoderRow> rows, Int8Comparison comparison)
    {
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("INT8 against FP32, same run:");
        md.AppendLine();
        md.AppendLine("| batch | INT8 / FP32, bare session | INT8 / FP32, embed path |");
        md.AppendLine("|---|---|---|");
        foreach (var int8 in rows.Where(r => r.Precision == "int8"))
        {
            var fp32 = rows.Single(r => r.Precision == "fp32" && r.Batch == int8.Batch);
            md.AppendLine(inv, $"| {int8.Batch} | **{int8.BareSegmentsPerSecond / fp32.BareSegmentsPerSecond:0.00}×** | {int8.EmbedPathSegmentsPerSecond / fp32.EmbedPathSegmentsPerSecond:0.00}× |");
        }

        var a = comparison.Agreement;
        var verdict = a.CosineMin >= EncoderQuantization.GateThreshold ? "within" : "outside";
        md.AppendLine();
        md.AppendLine(inv, $"Pooled layer vectors, {a.Pairs} (segment, layer) pairs, batch 1: cosine min **{a.CosineMin:0.000000}**, mean {a.CosineMean:0.000000}: {verdict} the gate of {EncoderQuantization.GateThreshold}. The export recorded: gate {(comparison.Declared?.GatePassed == true ? "passed" : "not passed")}, cosine min {comparison.Declared?.CosineMin?.ToString("0.000000", inv) ?? "?"}.");
        if (comparison.Predictions.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("| head task | largest prediction move, INT8 vs FP32 embeddings |");
            md.AppendLine("|---|---|");
            foreach (var (task, move) in comparison.Predictions)
            {
                md.AppendLine(inv, $"| {task} | {move:0.000} |");
            }
        }

        md.AppendLine();
    }

    private static JsonDocument? RunPyTorch(string kind, int[] batches, int threads)
    {
        var script = FindUp(Path.Combine("tools", "export-mert", "export_mert.py"));
        if (script is null)
        {
            CliConsole.Fail("tools/export-mert/export_mert.py not found above the working directory; PyTorch figures skipped.");
            return null;
        }

        var arguments = $"\"{script}\" bench --model-kind {kind} --batches {string.Join(",", batches)} --repeats 1 --threads {(threads == 0 ? Environment.ProcessorCount : threads)} --json";
        CliConsole.Note($"PyTorch eager: /usr/bin/python3 {arguments}");
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", arguments) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            CliConsole.Fail($"PyTorch bench failed (exit {process.ExitCode}); is python3-torch installed?");
            return null;
        }

        return JsonDocument.Parse(output.Trim().Split('\n')[^1]);
    }

    private static string? FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static void WriteReport(StringBuilder md, BenchSettings settings, string modelPath, int fileCount, double audioSeconds, double decodeSeconds, List<EncoderRow> rows, List<(string Name, double SegmentsPerSecond)> variants, JsonDocument? pytorch, Int8Comparison? comparison)
    {
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"### apex bench embed: {Path.GetFileName(modelPath)}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(inv, $"Machine: {CpuModel()}, {Environment.ProcessorCount} logical cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB; .NET {Environment.Version}; ONNX Runtime {OrtEnv.Instance().GetVersionString()} (CPU, intra-op threads {(settings.Threads == 0 ? "default" : settings.Threads.ToString(inv))}).");
        md.AppendLine();
        md.AppendLine(inv, $"Decode (ffmpeg → 24 kHz mono f32 → 30 s segments): {audioSeconds:0.0} s of audio in {fileCount} file(s) in {decodeSeconds:0.00} s = **{audioSeconds / decodeSeconds:0}× real time**.");
        md.AppendLine();
        md.AppendLine("| encoder | batch | bare ORT session (segments/s) | apex embed path (segments/s) | path / bare | peak RSS so far (GiB) |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            md.AppendLine(inv, $"| {(row.Precision.Length == 0 ? Path.GetFileName(modelPath) : row.Precision)} | {row.Batch} | {row.BareSegmentsPerSecond:0.000} | {row.EmbedPathSegmentsPerSecond:0.000} | {row.EmbedPathSegmentsPerSecond / row.BareSegmentsPerSecond:0.00} | {row.PeakRssBytes / (double)(1L << 30):0.00} |");
        }

        if (variants.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("| session setting (bare, batch 1) | segments/s | vs the encoder's setting |");
            md.AppendLine("|---|---|---|");
            foreach (var (name, rate) in variants)
            {
                md.AppendLine(inv, $"| {name} | {rate:0.000} | {rate / variants[0].SegmentsPerSecond:0.00} |");
            }
        }

        if (pytorch is not null)
        {
            var root = pytorch.RootElement;
            md.AppendLine();
            md.AppendLine(inv, $"PyTorch {root.GetProperty("torch").GetString()} eager ({root.GetProperty("model").GetString()} model, {root.GetProperty("threads").GetInt32()} threads), same machine, same run:");
            md.AppendLine();
            md.AppendLine("| batch | PyTorch eager (segments/s) | bare ORT / PyTorch |");
            md.AppendLine("|---|---|---|");
            foreach (var result in root.GetProperty("results").EnumerateArray())
            {
                var batch = result.GetProperty("batch").GetInt32();
                var torch = result.GetProperty("segments_per_s").GetDouble();
                var ort = rows.FirstOrDefault(r => r.Batch == batch && r.Precision != "int8");
                md.AppendLine(inv, $"| {batch} | {torch:0.000} | {(ort is null ? "-" : (ort.BareSegmentsPerSecond / torch).ToString("0.0", inv) + "×")} |");
            }
        }

        if (comparison is not null)
        {
            md.AppendLine();
            WriteComparison(md, rows, comparison);
        }

        md.AppendLine();
        md.AppendLine("Command: `apex bench embed " + string.Join(" ", Environment.GetCommandLineArgs().Skip(3)) + "`");
        md.AppendLine();
    }

    private static string CpuModel()
    {
        const string File = "/proc/cpuinfo";
        var line = System.IO.File.Exists(File) ? System.IO.File.ReadLines(File).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line?.Split(':', 2)[1].Trim() ?? "unknown CPU";
    }
}
