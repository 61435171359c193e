using static TorchSharp.torch;

namespace Apex.Training.Tests;

/// <summary>libtorch must load here (Debian 12 needs the build's libstdc++ patch) and compute.</summary>
public sealed class TorchSharpLoadsTests
{
    [Fact]
    public void Libtorch_loads_and_multiplies_matrices()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);

        using var product = a.matmul(b);

        Assert.Equal([19f, 22f, 43f, 50f], product.data<float>().ToArray());
    }
}
