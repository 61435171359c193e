using Apex.Core.Metrics;

namespace Apex.Core.Tests;

// Expected values were computed independently with SciPy 1.10.1 (stats.pearsonr, stats.spearmanr),
// scikit-learn 1.2.1 (roc_auc_score) and NumPy 1.24.2 on Debian 12.
public sealed class MetricsTests
{
    private static readonly double[] Predicted = [2.5, 0.0, 2.1, 7.8, 5.0, 3.3, 3.3, 9.1];
    private static readonly double[] Actual = [3.0, -0.5, 2.0, 8.0, 4.2, 3.3, 1.0, 9.9];

    [Fact]
    public void Regression_metrics_match_numpy_and_scipy()
    {
        var report = RegressionMetrics.Report(Predicted, Actual);

        Assert.Equal(8, report.Count);
        Assert.Equal(0.89, report.Mse, 1e-12);
        Assert.Equal(0.65, report.Mae, 1e-12);
        Assert.Equal(0.966291425018371, report.Pearson, 1e-12);
        // The predictions hold a tie (3.3, 3.3): Spearman averages its ranks.
        Assert.Equal(0.8982196964349441, report.Spearman, 1e-12);
    }

    [Fact]
    public void Roc_auc_counts_tied_scores_as_half_like_scikit_learn()
    {
        bool[] labels = [true, false, true, true, false, false, true, false, true, false];
        double[] scores = [0.9, 0.3, 0.6, 0.6, 0.6, 0.1, 0.8, 0.7, 0.35, 0.35];

        Assert.Equal(0.78, RocAuc.Compute(scores, labels), 1e-12);
    }

    [Fact]
    public void Perfect_and_inverted_rankings_give_1_and_0()
    {
        bool[] labels = [false, false, true, true];
        Assert.Equal(1.0, RocAuc.Compute([0.1, 0.2, 0.3, 0.4], labels));
        Assert.Equal(0.0, RocAuc.Compute([0.4, 0.3, 0.2, 0.1], labels));
    }

    [Fact]
    public void Roc_auc_needs_both_classes() =>
        Assert.Throws<ArgumentException>(() => RocAuc.Compute([0.1, 0.2], [true, true]));

    [Fact]
    public void Mismatched_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => RegressionMetrics.MeanSquaredError([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => RocAuc.Compute([0.1], [true, false]));
    }
}
