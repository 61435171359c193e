using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Training;
using Xunit.Abstractions;

namespace Apex.Training.Tests;

public sealed class TrainerTests(ITestOutputHelper output)
{
    private static readonly SyntheticDataset Data = new(Songs: 1_500, Seed: 11, Hidden: 32, MaxSegments: 3);

    private static (TrainingSet Train, TrainingSet Validation, TrainingSet Test) Sets(InputMode mode, string taskSet = "full")
    {
        var rows = Data.Rows().ToList();
        var split = DatasetSplit.Stratified(rows.Select(r => r.Streams).ToList(), seed: 1);
        TrainingSet Part(int[] songs) => TrainingSet.Build(songs.Select(i => rows[i]).ToList(), Data.Info, ApexTasks.ByName(taskSet), mode);
        return (Part(split.Train), Part(split.Validation), Part(split.Test));
    }

    private static readonly TrainingOptions Fast = new() { Epochs = 40, BatchSize = 128, Patience = 8, Seed = 3 };

    [Fact]
    public void Ghost_batches_step_once_per_global_batch_normalise_per_ghost_and_learn()
    {
        var (train, validation, _) = Sets(InputMode.Song);
        var plain = Fast with { Epochs = 4, Patience = 4 };
        var ghosts = plain with { BatchSize = 32, GhostBatches = 4 };

        var ghosted = Trainer.Train(train, validation, ghosts);
        var again = Trainer.Train(train, validation, ghosts);
        var single = Trainer.Train(train, validation, plain);

        // It learns: the validation loss falls from the first epoch.
        Assert.True(ghosted.History[^1].ValidationLoss < ghosted.History[0].ValidationLoss, string.Join(", ", ghosted.History.Select(h => h.ValidationLoss)));
        // The same global batch (128 rows per step) as plain 1 × 128, but BatchNorm statistics per 32 rows: other weights.
        var first = ghosted.Head.parameters().First().data<float>().ToArray();
        Assert.Equal(first, again.Head.parameters().First().data<float>().ToArray());
        Assert.NotEqual(first, single.Head.parameters().First().data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => (Fast with { GhostBatches = 0 }).Validate());
    }

    [Fact]
    public void Mixed_precision_computes_in_bfloat16_keeps_fp32_master_weights_and_learns_as_well()
    {
        // CUDA runs mixed by default; the CPU only when asked (libtorch has bfloat16 kernels on the CPU too).
        var (train, validation, test) = Sets(InputMode.Song, "popularity");
        var options = Fast with { Epochs = 6, Patience = 6, TaskSet = "popularity" };
        Assert.True(options.MixedOn(onCuda: true));
        Assert.False(options.MixedOn(onCuda: false));

        var full = Trainer.Train(train, validation, options with { Precision = TrainingPrecision.Fp32 });
        var mixed = Trainer.Train(train, validation, options with { Precision = TrainingPrecision.Mixed });

        Assert.All(mixed.Head.parameters(), p => Assert.Equal(TorchSharp.torch.ScalarType.Float32, p.dtype));
        // Another computation (bfloat16 rounding), so other weights…
        Assert.NotEqual(full.Head.parameters().First().data<float>().ToArray(), mixed.Head.parameters().First().data<float>().ToArray());
        // …that learn the planted signal about as well.
        double Pearson(TrainedHead h) => Predictor.Evaluate(Predictor.PredictSongs(h.Head, test), test).Single(m => m.Task == "streams").Report.Pearson;
        output.WriteLine($"streams pearson fp32 {Pearson(full):0.000}, mixed {Pearson(mixed):0.000}; validation loss {full.BestValidationLoss:0.000} / {mixed.BestValidationLoss:0.000}");
        Assert.True(mixed.History[^1].ValidationLoss < mixed.History[0].ValidationLoss);
        Assert.InRange(Pearson(mixed), Pearson(full) - 0.05, 1);
    }

    [Theory]
    [InlineData(InputMode.Song)]
    [InlineData(InputMode.Segment)]
    public void Recovers_the_planted_signal_on_held_out_songs(InputMode mode)
    {
        var (train, validation, test) = Sets(mode);

        var trained = Trainer.Train(train, validation, Fast with { Mode = mode });
        var metrics = Predictor.Evaluate(Predictor.PredictSongs(trained.Head, test), test).ToDictionary(m => m.Task, m => m.Report);

        foreach (var (task, report) in metrics)
        {
            output.WriteLine($"{mode} {task}: pearson {report.Pearson:0.000} mse {report.Mse:0.000} (best epoch {trained.BestEpoch})");
        }

        // Bounds sit ≈ 0.1 under what both modes reach (0.63–0.93); an untrained head scores ≈ 0.
        var bounds = new Dictionary<string, double>
        {
            ["streams"] = 0.65, ["likes"] = 0.55, ["coherence"] = 0.8, ["musicality"] = 0.75,
            ["memorability"] = 0.5, ["clarity"] = 0.7, ["naturalness"] = 0.85,
        };
        Assert.All(bounds, b => Assert.True(metrics[b.Key].Pearson > b.Value, $"{mode} {b.Key}: Pearson {metrics[b.Key].Pearson:0.000} ≤ {b.Value}"));
    }

    [Fact]
    public void Uncertainty_weighting_learns_a_larger_variance_for_the_noisier_task()
    {
        var (train, validation, _) = Sets(InputMode.Song);

        // Adam moves each s_i by about the learning rate per step: enough steps for them to settle.
        var trained = Trainer.Train(train, validation, Fast with { Loss = LossStrategy.Uncertainty, Patience = 40, BatchSize = 64, LearningRate = 1e-2 });

        var s = trained.Loss.LogVariances.data<float>().ToArray();
        var index = train.Tasks.Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i);
        output.WriteLine(string.Join(", ", index.Select(p => $"{p.Key} s={s[p.Value]:0.000}")));
        // The planted label noise grows naturalness < coherence < memorability (SyntheticDataset.AestheticNoise).
        Assert.True(s[index["memorability"]] > s[index["coherence"]]);
        Assert.True(s[index["coherence"]] > s[index["naturalness"]]);
        // Popularity MSEs are in the hundreds: their learnt variances dwarf the aesthetics'.
        Assert.True(s[index["streams"]] > s[index["memorability"]] + 2);
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights()
    {
        var (train, validation, _) = Sets(InputMode.Song, "popularity");
        var options = Fast with { Epochs = 3, Loss = LossStrategy.Equal };

        var a = Trainer.Train(train, validation, options).Head.state_dict();
        var b = Trainer.Train(train, validation, options).Head.state_dict();
        var c = Trainer.Train(train, validation, options with { Seed = 4 }).Head.state_dict();

        Assert.All(a, kv => Assert.True(kv.Value.eq(b[kv.Key]).all().item<bool>(), kv.Key));
        Assert.Contains(a, kv => !kv.Value.eq(c[kv.Key]).all().item<bool>());
    }

    [Fact]
    public void Early_stopping_restores_the_best_epoch()
    {
        var (train, validation, _) = Sets(InputMode.Song, "popularity");

        var trained = Trainer.Train(train, validation, Fast with { Epochs = 60, Patience = 3, LearningRate = 1e-2 });

        Assert.True(trained.History.Count < 60, "patience should stop training early");
        Assert.Equal(trained.History.Count - 3, trained.BestEpoch);
        Assert.Equal(trained.History.Min(h => h.ValidationLoss), trained.BestValidationLoss);
        var restored = Trainer.Loss(trained.Head, trained.Loss, validation, 512, TorchSharp.torch.CPU);
        Assert.Equal(trained.BestValidationLoss, restored, 3);
    }
}
