using Apex.Training.Model;
using static TorchSharp.torch;

namespace Apex.Training.Tests;

public sealed class ApexHeadTests
{
    [Theory]
    [InlineData(4, 768, 2, "full")]
    [InlineData(3, 16, 3, "popularity")]
    public void Shapes_come_from_the_architecture_and_outputs_stay_in_their_ranges(int layers, int hidden, int depth, string taskSet)
    {
        random.manual_seed(1);
        var tasks = ApexTasks.ByName(taskSet);
        using var head = new ApexHead(new HeadArchitecture(layers, hidden, HeadArchitecture.TrunkOf(depth), tasks));
        head.eval();

        using var output = head.call(randn(8, layers, hidden) * 50);

        Assert.Equal([8L, tasks.Count], output.shape);
        var values = output.data<float>().ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            var task = tasks[i % tasks.Count];
            Assert.InRange(values[i], task.Low, task.Low + task.Span);
        }
    }

    [Fact]
    public void The_layer_mix_is_a_learned_conv1d_over_the_layer_vectors()
    {
        using var head = new ApexHead(new HeadArchitecture(4, 32, HeadArchitecture.TrunkOf(2), ApexTasks.Full));

        var names = head.named_parameters().Select(p => p.name).ToList();

        Assert.Contains("_mix.weight", names);
        Assert.Equal([1L, 4, 1], head.named_parameters().First(p => p.name == "_mix.weight").parameter.shape);
        Assert.Equal(7, names.Count(n => n.EndsWith(".out.weight", StringComparison.Ordinal)));
    }
}
