using System.CommandLine;
using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Training;
using Spectre.Console;

namespace Apex.Cli.Commands;

/// <summary><c>apex train</c>: one condition on a dataset, to a checkpoint.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Dataset (Parquet).", Required = true };
        var output = new Option<string>("--out") { Description = "Checkpoint folder to write.", Required = true };
        var condition = new Option<string?>("--condition") { Description = "A..L: a paper condition (sets loss, trunk and mode)." };
        var loss = new Option<string>("--loss") { Description = "equal, manual or uncertainty.", DefaultValueFactory = _ => "uncertainty" };
        loss.AcceptOnlyFromAmong("equal", "manual", "uncertainty");
        var trunk = new Option<int>("--trunk") { Description = "Shared layers: 2 or 3.", DefaultValueFactory = _ => 2 };
        trunk.AcceptOnlyFromAmong("2", "3");
        var mode = new Option<string>("--mode") { Description = "song or segment.", DefaultValueFactory = _ => "song" };
        mode.AcceptOnlyFromAmong("song", "segment");
        var tasks = new Option<string>("--tasks") { Description = "full (7 tasks) or popularity (2).", DefaultValueFactory = _ => "full" };
        tasks.AcceptOnlyFromAmong("full", "popularity");
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch-size") { Description = "Rows per ghost batch (BatchNorm statistics are per ghost batch).", DefaultValueFactory = _ => 512 };
        var ghosts = new Option<int>("--ghost-batches") { Description = "Ghost batches per optimiser step: the paper's 4 × 512 (a global batch of 2,048).", DefaultValueFactory = _ => 4 };
        var single = new Option<bool>("--single-batch") { Description = "One plain mini-batch of --batch-size rows per step (the same as --ghost-batches 1)." };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var patience = new Option<int>("--patience") { DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => "auto" };
        var precision = new Option<string>("--precision") { Description = "auto (mixed bfloat16 on CUDA, fp32 on the CPU), fp32 or mixed.", DefaultValueFactory = _ => "auto" };
        precision.AcceptOnlyFromAmong("auto", "fp32", "mixed");
        device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var label = new Option<string?>("--label") { Description = "Label shown with this model's scores (default: synthetic-demo for synthetic data)." };
        var init = new Option<string?>("--init") { Description = "A checkpoint folder to fine-tune (as the live trainer fine-tunes the serving model): its architecture and tasks replace --trunk and --tasks." };

        var command = new Command("train", "Train an APEX head and write its checkpoint (safetensors + manifest).")
        {
            data, output, condition, loss, trunk, mode, tasks, epochs, batch, ghosts, single, lr, patience, seed, device, precision, label, init,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            TrainingOptions options;
            try
            {
                options = new TrainingOptions
                {
                    Loss = Enum.Parse<LossStrategy>(result.GetValue(loss)!, ignoreCase: true),
                    TrunkDepth = result.GetValue(trunk),
                    Mode = Enum.Parse<InputMode>(result.GetValue(mode)!, ignoreCase: true),
                    TaskSet = result.GetValue(tasks)!,
                    Epochs = result.GetValue(epochs),
                    BatchSize = result.GetValue(batch),
                    GhostBatches = result.GetValue(single) ? 1 : result.GetValue(ghosts),
                    LearningRate = result.GetValue(lr),
                    Patience = result.GetValue(patience),
                    Seed = result.GetValue(seed),
                    Precision = Enum.Parse<TrainingPrecision>(result.GetValue(precision)!, ignoreCase: true),
                };
                if (result.GetValue(condition) is { } letter)
                {
                    options = Condition.Apply(letter, options);
                }

                options.Validate();
            }
            catch (ArgumentException ex)
            {
                CliConsole.Fail(ex.Message);
                return ExitCodes.BadInput;
            }

            if (result.GetValue(init) is { } folder && !File.Exists(Path.Combine(folder, "manifest.json")))
            {
                CliConsole.Fail($"--init {folder}: no checkpoint there (manifest.json is missing).");
                return ExitCodes.BadInput;
            }

            return await RunAsync(result.GetValue(data)!, result.GetValue(output)!, options, result.GetValue(device)!, result.GetValue(label), result.GetValue(init), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(string data, string output, TrainingOptions options, string deviceChoice, string? label, string? init, CancellationToken cancellationToken)
    {
        TorchSharp.torch.Device device;
        try
        {
            device = TrainingDevice.Resolve(deviceChoice);
        }
        catch (InvalidOperationException ex)
        {
            CliConsole.Fail(ex.Message);
            return ExitCodes.BadInput;
        }

        CliConsole.Note($"condition {Condition.LetterOf(options)}-{options.TaskSet}: {options.Loss} loss, {options.TrunkDepth} shared layers, {options.Mode} mode, on {device.type}{(options.MixedOn(device.type == TorchSharp.DeviceType.CUDA) ? " in mixed precision (bfloat16)" : "")}{(init is null ? "" : $", fine-tuning {init}")}");
        TrainingResult? run = null;
        try
        {
            await Progress.RunAsync("Training", options.Epochs, show: true, async ticker =>
                run = await TrainingRun.RunAsync(data, output, options, device, label, report =>
                {
                    var weights = report.TaskWeights is null ? "" : " weights " + string.Join(" ", report.TaskWeights.Select(w => w.ToString("0.###")));
                    ticker.Advance($"epoch {report.Epoch}: train {report.TrainLoss:0.###} val {report.ValidationLoss:0.###}{(report.Improved ? " *" : "")}{weights}");
                    if (!CliConsole.IsInteractive)
                    {
                        CliConsole.Note($"epoch {report.Epoch}/{report.Epochs}: train loss {report.TrainLoss:0.####}, validation loss {report.ValidationLoss:0.####}{(report.Improved ? " (best)" : "")}{weights}");
                    }
                }, init, cancellationToken));
        }
        catch (InvalidDataException ex)
        {
            CliConsole.Fail(ex.Message);
            return ExitCodes.BadInput;
        }

        CliConsole.Note($"best epoch {run!.Trained.BestEpoch}; checkpoint {run.Manifest.Version}{(run.Manifest.Label is null ? "" : $" [{run.Manifest.Label}]")} written to {output}");
        CliConsole.CreateOutput().Write(MetricsTable.Of("test split", run.TestMetrics));
        return ExitCodes.Ok;
    }
}
