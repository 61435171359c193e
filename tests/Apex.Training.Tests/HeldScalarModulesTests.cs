using Apex.Training.Torch;
using static TorchSharp.torch;

namespace Apex.Training.Tests;

/// <summary>The held-scalar replacements compute exactly what TorchSharp's own modules compute.</summary>
public sealed class HeldScalarModulesTests
{
    [Fact]
    public void AdamW_takes_the_same_steps_as_TorchSharps_to_the_last_bit()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var start = randn(32, 8);
        var ours = new TorchSharp.Modules.Parameter(start.clone());
        var theirs = new TorchSharp.Modules.Parameter(start.clone());
        using var held = new HeldScalarAdamW([ours], lr: 0.01, weightDecay: 0.05);
        using var library = optim.AdamW([theirs], lr: 0.01, weight_decay: 0.05);
        var schedule = optim.lr_scheduler.CosineAnnealingLR(held, T_max: 10);
        var librarySchedule = optim.lr_scheduler.CosineAnnealingLR(library, T_max: 10);
        for (var step = 0; step < 10; step++)
        {
            var gradient = randn(32, 8);
            ours.grad = gradient.clone();
            theirs.grad = gradient.clone();
            held.step();
            library.step();
            schedule.step();
            librarySchedule.step();
        }

        Assert.True(ours.eq(theirs).all().item<bool>());
        Assert.False(ours.eq(start).all().item<bool>());
    }

    [Fact]
    public void BatchNorm_matches_TorchSharps_in_training_and_evaluation()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(7);
        using var ours = new HeldScalarBatchNorm1d(6);
        using var theirs = nn.BatchNorm1d(6);
        Assert.Equal(theirs.state_dict().Keys.Order(), ours.state_dict().Keys.Order());
        for (var batch = 0; batch < 3; batch++)
        {
            var input = randn(10, 6) * 3 + 1;
            Assert.True(ours.call(input).eq(theirs.call(input)).all().item<bool>());
        }

        Assert.True(ours.running_mean!.eq(theirs.running_mean!).all().item<bool>());
        Assert.True(ours.running_var!.eq(theirs.running_var!).all().item<bool>());
        Assert.Equal(3, ours.num_batches_tracked!.item<long>());
        ours.eval();
        theirs.eval();
        var test = randn(4, 6);
        Assert.True(ours.call(test).eq(theirs.call(test)).all().item<bool>());
        Assert.Throws<ArgumentException>(() => ours.call(randn(6)));
    }
}
