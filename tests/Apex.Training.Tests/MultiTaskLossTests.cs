using Apex.Training.Model;
using static TorchSharp.torch;

namespace Apex.Training.Tests;

public sealed class MultiTaskLossTests
{
    private static readonly ApexTask[] Tasks = [ApexTasks.Streams, ApexTasks.Aesthetics[0]];

    // Hand computation: streams is labelled in rows 0 and 1: ((10-12)² + (20-17)²) / 2 = 6.5;
    // coherence only in row 1: (3-3.5)² = 0.25. Row 2 has no labels at all.
    private static Tensor Predicted() => tensor(new float[] { 10, 2, 20, 3, 40, 4 }, [3, 2]);

    private static Tensor Target() => tensor(new float[] { 12, float.NaN, 17, 3.5f, float.NaN, float.NaN }, [3, 2]);

    [Fact]
    public void Masked_mse_uses_only_labelled_rows()
    {
        var (mse, present) = MultiTaskLoss.MaskedMse(Predicted(), Target());

        Assert.Equal([6.5f, 0.25f], mse.data<float>().ToArray());
        Assert.Equal([1f, 1f], present.data<float>().ToArray());
    }

    [Fact]
    public void Equal_weighting_sums_the_task_losses()
    {
        using var loss = new MultiTaskLoss(LossStrategy.Equal, Tasks);
        Assert.Equal(6.75f, loss.call(Predicted(), Target()).item<float>(), 5);
    }

    [Fact]
    public void Manual_weighting_halves_the_aesthetic_losses()
    {
        using var loss = new MultiTaskLoss(LossStrategy.Manual, Tasks);
        Assert.Equal(6.5f + 0.5f * 0.25f, loss.call(Predicted(), Target()).item<float>(), 5);
    }

    [Fact]
    public void Uncertainty_weighting_follows_kendall_et_al()
    {
        using var loss = new MultiTaskLoss(LossStrategy.Uncertainty, Tasks);
        using (no_grad())
        {
            loss.LogVariances.copy_(tensor(new float[] { 0.5f, -1f }));
        }

        // ½·e^−0.5·6.5 + ½·0.5 + ½·e^1·0.25 + ½·(−1)
        var expected = 0.5 * Math.Exp(-0.5) * 6.5 + 0.25 + 0.5 * Math.E * 0.25 - 0.5;
        Assert.Equal(expected, loss.call(Predicted(), Target()).item<float>(), 5);
    }

    [Fact]
    public void A_task_without_labels_in_the_batch_adds_nothing_not_even_its_uncertainty_term()
    {
        using var loss = new MultiTaskLoss(LossStrategy.Uncertainty, Tasks);
        using (no_grad())
        {
            loss.LogVariances.copy_(tensor(new float[] { 0f, 2f }));
        }

        var target = tensor(new float[] { 12, float.NaN, 17, float.NaN, float.NaN, float.NaN }, [3, 2]);

        Assert.Equal(0.5 * 6.5, loss.call(Predicted(), target).item<float>(), 5);
    }

    [Fact]
    public void Missing_labels_get_no_gradient_and_no_nan()
    {
        using var loss = new MultiTaskLoss(LossStrategy.Equal, Tasks);
        var predicted = Predicted().requires_grad_();

        loss.call(predicted, Target()).backward();

        var grad = predicted.grad!.data<float>().ToArray();
        Assert.DoesNotContain(grad, float.IsNaN);
        Assert.Equal(0f, grad[1]); // row 0, coherence: missing
        Assert.Equal(0f, grad[4]); // row 2, streams: missing
        Assert.Equal(2 * (10 - 12) / 2f, grad[0]); // d/dp of the mean over two rows
    }
}
