namespace Apex.Arena;

/// <summary>
/// Discrete AdaBoost (SAMME, two classes) over decision stumps, as scikit-learn's default AdaBoost:
/// 300 rounds, learning rate 0.05. Written by hand: ML.NET has no AdaBoost and nothing else on the
/// mirror provides it. Stumps search every feature's sorted thresholds, O(rounds × features × n log n).
/// </summary>
public sealed class AdaBoost
{
    private readonly List<(int Feature, float Threshold, int Polarity, double Alpha)> _stumps = [];

    public static AdaBoost Train(IReadOnlyList<float[]> x, IReadOnlyList<bool> y, IReadOnlyList<double> weights, int rounds = 300, double learningRate = 0.05)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(weights);
        var model = new AdaBoost();
        var n = x.Count;
        var features = x[0].Length;
        var w = weights.ToArray();
        Normalize(w);
        var orders = Enumerable.Range(0, features).Select(f => Enumerable.Range(0, n).OrderBy(i => x[i][f]).ToArray()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            var best = (Feature: 0, Threshold: 0f, Polarity: 1, Error: double.MaxValue);
            var positiveTotal = Enumerable.Range(0, n).Where(i => y[i]).Sum(i => w[i]);
            for (var f = 0; f < features; f++)
            {
                // Predict "positive above the threshold": error = positives at or below + negatives above.
                var positivesBelow = 0.0;
                var negativesBelow = 0.0;
                var negativeTotal = 1 - positiveTotal;
                var order = orders[f];
                for (var k = 0; k < n; k++)
                {
                    var i = order[k];
                    if (y[i])
                    {
                        positivesBelow += w[i];
                    }
                    else
                    {
                        negativesBelow += w[i];
                    }

                    if (k + 1 < n && x[order[k + 1]][f] == x[i][f])
                    {
                        continue;
                    }

                    var threshold = k + 1 < n ? (x[i][f] + x[order[k + 1]][f]) / 2 : x[i][f];
                    var error = positivesBelow + (negativeTotal - negativesBelow);
                    if (error < best.Error)
                    {
                        best = (f, threshold, 1, error);
                    }

                    if (1 - error < best.Error)
                    {
                        best = (f, threshold, -1, 1 - error);
                    }
                }
            }

            var e = Math.Clamp(best.Error, 1e-10, 1 - 1e-10);
            if (e >= 0.5)
            {
                break;
            }

            var alpha = learningRate * Math.Log((1 - e) / e);
            model._stumps.Add((best.Feature, best.Threshold, best.Polarity, alpha));
            for (var i = 0; i < n; i++)
            {
                if (Predict(x[i], best.Feature, best.Threshold, best.Polarity) != y[i])
                {
                    w[i] *= Math.Exp(alpha);
                }
            }

            Normalize(w);
        }

        return model;
    }

    /// <summary>The boosted margin: positive means class true.</summary>
    public double Score(float[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return _stumps.Sum(s => s.Alpha * (Predict(x, s.Feature, s.Threshold, s.Polarity) ? 1 : -1));
    }

    private static bool Predict(float[] x, int feature, float threshold, int polarity) => (x[feature] > threshold) == (polarity > 0);

    private static void Normalize(double[] w)
    {
        var total = w.Sum();
        for (var i = 0; i < w.Length; i++)
        {
            w[i] /= total;
        }
    }
}
