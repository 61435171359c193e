using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Model;
using Apex.Training.Training;

namespace Apex.Training.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-checkpoint-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_saved_run_loads_and_predicts_bit_identically()
    {
        var synthetic = new SyntheticDataset(Songs: 400, Seed: 21, Hidden: 16, MaxSegments: 2);
        var dataset = Path.Combine(_folder, "ds.parquet");
        await ParquetDataset.WriteAsync(dataset, synthetic.Rows(), synthetic.Info);
        var output = Path.Combine(_folder, "model");

        var result = await TrainingRun.RunAsync(dataset, output, new TrainingOptions { Epochs = 5, BatchSize = 64, Seed = 2 });
        var (head, manifest) = HeadCheckpoint.Load(output);

        var set = TrainingSet.Build(await ParquetDataset.ReadAllAsync(dataset), synthetic.Info, ApexTasks.Full, InputMode.Song);
        var before = Predictor.PredictSongs(result.Trained.Head, set);
        var after = Predictor.PredictSongs(head, set);
        Assert.Equal(before, after); // exact float equality, BatchNorm running statistics included
        Assert.Equal("synthetic-demo", manifest.Label);
        Assert.Equal("uncertainty", manifest.Loss);
        Assert.Equal([512, 256], manifest.Architecture.Trunk);
        Assert.Equal(7, manifest.TaskWeights!.Count);
        Assert.Equal(7, manifest.TestMetrics.Count);
        Assert.StartsWith("ds.parquet;rows=400", manifest.DataSnapshot, StringComparison.Ordinal);
        Assert.Contains("-C", manifest.Version, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_a_checkpoint_is_refused() =>
        Assert.Throws<InvalidDataException>(() => HeadCheckpoint.Load(_folder));

    [Fact]
    public void The_conditions_are_the_papers_24_with_model_c_its_best()
    {
        var all = Condition.All(new TrainingOptions()).ToList();

        Assert.Equal(24, all.Count);
        Assert.Equal(24, all.Select(c => c.Name).Distinct().Count());
        var c = Condition.Apply("C", new TrainingOptions());
        Assert.Equal((LossStrategy.Uncertainty, 2, InputMode.Song), (c.Loss, c.TrunkDepth, c.Mode));
        Assert.Equal(LossStrategy.Manual, Condition.Apply("E", new TrainingOptions()).Loss);
        Assert.Equal(InputMode.Segment, Condition.Apply("L", new TrainingOptions()).Mode);
    }
}
