using System.CommandLine;
using Apex.Training.Training;

namespace Apex.Cli.Commands;

/// <summary><c>apex ablate</c>: the paper's 24 conditions on one dataset.</summary>
internal static class AblateCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Dataset (Parquet).", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for the 24 checkpoints and results.csv/json/md (resumable).", Required = true };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch-size") { Description = "Rows per ghost batch (BatchNorm statistics are per ghost batch).", DefaultValueFactory = _ => 512 };
        var ghosts = new Option<int>("--ghost-batches") { Description = "Ghost batches per optimiser step: the paper's 4 × 512 (a global batch of 2,048).", DefaultValueFactory = _ => 4 };
        var single = new Option<bool>("--single-batch") { Description = "One plain mini-batch of --batch-size rows per step (the same as --ghost-batches 1)." };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var patience = new Option<int>("--patience") { DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var command = new Command("ablate", "Train and evaluate all 24 conditions (3 losses × 2 trunks × 2 modes × 2 task sets, models A..L).")
        {
            data, output, epochs, batch, ghosts, single, lr, patience, seed, device,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var baseline = new TrainingOptions
            {
                Epochs = result.GetValue(epochs),
                BatchSize = result.GetValue(batch),
                GhostBatches = result.GetValue(single) ? 1 : result.GetValue(ghosts),
                LearningRate = result.GetValue(lr),
                Patience = result.GetValue(patience),
                Seed = result.GetValue(seed),
            };
            try
            {
                baseline.Validate();
                var torchDevice = TrainingDevice.Resolve(result.GetValue(device)!);
                var folder = result.GetValue(output)!;
                await Progress.RunAsync("Ablation", 24, show: true, async ticker =>
                    await Ablation.RunAsync(result.GetValue(data)!, folder, baseline, torchDevice, (name, i, total, resumed) =>
                    {
                        if (i > 0)
                        {
                            ticker.Advance(name);
                        }

                        if (!CliConsole.IsInteractive)
                        {
                            CliConsole.Note($"[{i + 1}/{total}] {name}{(resumed ? " (done before: read back)" : "")}");
                        }
                    }, cancellationToken));
                CliConsole.Note($"results in {Path.Combine(folder, "results.md")}, .csv and .json");
                Console.Write(await File.ReadAllTextAsync(Path.Combine(folder, "results.md"), cancellationToken));
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or InvalidDataException)
            {
                CliConsole.Fail(ex.Message);
                return ExitCodes.BadInput;
            }
        });
        return command;
    }
}
