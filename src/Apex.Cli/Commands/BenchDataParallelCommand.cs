using System.CommandLine;
using System.Globalization;
using System.Text;
using Apex.Training.Data;
using Apex.Training.Distributed;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex bench ddp</c>: steps/s and samples/s of the data-parallel training path for K workers in this
/// process (the worker grains' code without the network), and the coordinator's share of a step: adding
/// the ghost gradients, the optimizer step and folding BatchNorm statistics (the all-reduce here).
/// </summary>
internal static class BenchDataParallelCommand
{
    public static Command Create()
    {
        var workers = new Option<string>("--workers") { Description = "Worker counts, comma-separated.", DefaultValueFactory = _ => "1,2" };
        var ghosts = new Option<int>("--ghosts") { DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch") { Description = "Global batch per step.", DefaultValueFactory = _ => 512 };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 20 };
        var samples = new Option<int>("--samples") { DefaultValueFactory = _ => 8_192 };
        var output = new Option<string?>("--out") { Description = "Append the results as Markdown to this file." };
        var command = new Command("ddp", "Time data-parallel training steps (song-mean inputs of 4 × 768) for K workers.") { workers, ghosts, batch, steps, samples, output };
        command.SetAction(async (result, cancellationToken) =>
        {
            var counts = result.GetValue(workers)!.Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();
            var tasks = ApexTasks.Full;
            var random = new Random(1);
            var n = result.GetValue(samples);
            var set = TrainingSet.FromArrays(4, 768, tasks,
                Enumerable.Range(0, n * 4 * 768).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(),
                Enumerable.Range(0, n * tasks.Count).Select(i => (float)(tasks[i % tasks.Count].Low + (random.NextDouble() * tasks[i % tasks.Count].Span))).ToArray());
            var architecture = new HeadArchitecture(4, 768, HeadArchitecture.TrunkOf(2), tasks);
            var options = new TrainingOptions { GhostBatches = result.GetValue(ghosts), BatchSize = result.GetValue(batch) / result.GetValue(ghosts) }.Validate();
            var global = options.BatchSize * options.GhostBatches;
            var inv = CultureInfo.InvariantCulture;
            var md = new StringBuilder();
            md.AppendLine(inv, $"### apex bench ddp: global batch {global} in {options.GhostBatches} ghost batches, {result.GetValue(steps)} steps, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            md.AppendLine();
            md.AppendLine(inv, $"Machine: {Environment.ProcessorCount} logical cores, TorchSharp CPU. Workers in this process (the worker grains' code without the network); model C (4 × 768, two shared layers, 7 tasks).");
            md.AppendLine();
            md.AppendLine("| workers | steps/s | samples/s | worker compute per step (ms) | all-reduce + optimizer step (ms) | state sent per worker per step |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var k in counts)
            {
                using var replica = new Replica(architecture, options);
                var pool = Enumerable.Range(0, k).Select(_ => new LocalGradientWorker(architecture, options)).ToList();
                using var coordinator = new DataParallelCoordinator(replica, options, WorkerPool.Of([.. pool]));
                // Consecutive global batches of the set, cut into ghost batches as the trainer cuts them.
                IReadOnlyList<GhostPlan> Plan(int step) => Enumerable.Range(0, options.GhostBatches)
                    .Select(g => new GhostPlan(g, Enumerable.Range(((step * global) + (g * options.BatchSize)) % n, options.BatchSize).Select(i => i % n).ToArray(), 1.0 / options.GhostBatches))
                    .ToList();
                await coordinator.StepAsync(set, Plan(0), cancellationToken); // warm-up
                var reports = new List<StepReport>();
                for (var s = 0; s < result.GetValue(steps); s++)
                {
                    reports.Add(await coordinator.StepAsync(set, Plan(s + 1), cancellationToken));
                }

                pool.ForEach(w => w.Dispose());
                var seconds = reports.Sum(r => r.Total.TotalSeconds);
                var stateMb = (coordinator.State().Parameters.Length + coordinator.State().Buffers.Length) * 4 / 1e6;
                md.AppendLine(inv, $"| {k} | {reports.Count / seconds:0.00} | {reports.Count * global / seconds:0} | {reports.Average(r => r.Workers.TotalMilliseconds):0.0} | {reports.Average(r => r.AllReduce.TotalMilliseconds):0.0} | {stateMb:0.0} MB |");
                CliConsole.Note($"K = {k}: {reports.Count / seconds:0.00} steps/s");
            }

            md.AppendLine();
            md.AppendLine(inv, $"Command: `apex bench ddp --workers {result.GetValue(workers)} --ghosts {options.GhostBatches} --batch {global} --steps {result.GetValue(steps)} --samples {n}`");
            md.AppendLine();
            Console.Write(md);
            if (result.GetValue(output) is { } file)
            {
                await File.AppendAllTextAsync(file, md.ToString(), cancellationToken);
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
