using MathNet.Numerics.Statistics;

namespace Apex.Core.Metrics;

/// <summary>The regression metrics the paper reports for each task.</summary>
public sealed record RegressionReport(int Count, double Mse, double Mae, double Pearson, double Spearman);

public static class RegressionMetrics
{
    public static double MeanSquaredError(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckPair(predicted, actual);
        var sum = 0.0;
        for (var i = 0; i < predicted.Length; i++)
        {
            var d = predicted[i] - actual[i];
            sum += d * d;
        }

        return sum / predicted.Length;
    }

    public static double MeanAbsoluteError(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckPair(predicted, actual);
        var sum = 0.0;
        for (var i = 0; i < predicted.Length; i++)
        {
            sum += Math.Abs(predicted[i] - actual[i]);
        }

        return sum / predicted.Length;
    }

    /// <summary>Pearson's r; NaN when either side is constant (as SciPy reports it).</summary>
    public static double Pearson(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckPair(predicted, actual);
        return Correlation.Pearson(predicted.ToArray(), actual.ToArray());
    }

    /// <summary>Spearman's ρ: Pearson's r of the average ranks (ties averaged).</summary>
    public static double Spearman(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckPair(predicted, actual);
        return Correlation.Spearman(predicted.ToArray(), actual.ToArray());
    }

    public static RegressionReport Report(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual) =>
        new(predicted.Length, MeanSquaredError(predicted, actual), MeanAbsoluteError(predicted, actual), Pearson(predicted, actual), Spearman(predicted, actual));

    internal static void CheckPair(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Predictions ({a.Length}) and targets ({b.Length}) differ in length.");
        }

        if (a.Length == 0)
        {
            throw new ArgumentException("A metric needs at least one pair.");
        }
    }
}
