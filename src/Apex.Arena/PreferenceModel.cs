using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Apex.Arena;

/// <summary>
/// The live judge: logistic regression on the 31 preference features (standardised; L2 = 1/C with
/// C = 0.1; balanced classes), trained with ML.NET's L-BFGS and then kept as plain numbers, so a
/// prediction is one dot product (millions of pairs a minute on one core) and the model travels as data.
/// </summary>
public sealed record PreferenceModel(string Version, int TrainedOn, double[] Mean, double[] Scale, double[] Weights, double Bias)
{
    private sealed class Row
    {
        [VectorType(PreferenceFeatures.Count)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }

        public float Weight { get; set; }
    }

    /// <summary>Balanced class weights (n / (2 · the class's count)), as scikit-learn's class_weight="balanced".</summary>
    public static float[] BalancedWeights(IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var positives = labels.Count(l => l);
        return labels.Select(l => (float)(labels.Count / (2.0 * (l ? positives : labels.Count - positives)))).ToArray();
    }

    /// <summary>XGBoost's scale_pos_weight as the paper sets it: the minority class weighs majority / minority, the majority 1.</summary>
    public static float[] ClassRatioWeights(IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        var minority = positives <= negatives;
        var ratio = (float)Math.Max(positives, negatives) / Math.Max(1, Math.Min(positives, negatives));
        return labels.Select(l => l == minority ? ratio : 1f).ToArray();
    }

    /// <summary>The paper's logistic regression: L2 with C = 0.1 (L2 = 1/C), up to 1,000 L-BFGS iterations, weighted rows.</summary>
    public static LbfgsLogisticRegressionBinaryTrainer.Options LogisticRegressionOptions() =>
        new() { L2Regularization = 10f, L1Regularization = 0, MaximumNumberOfIterations = 1000, ExampleWeightColumnName = "Weight" };

    /// <summary>P(A preferred) for one battle's features.</summary>
    public double Probability(ReadOnlySpan<float> features)
    {
        var z = Bias;
        for (var i = 0; i < Weights.Length; i++)
        {
            z += Weights[i] * ((features[i] - Mean[i]) / Scale[i]);
        }

        return 1 / (1 + Math.Exp(-z));
    }

    public static PreferenceModel Train(IReadOnlyList<float[]> features, IReadOnlyList<bool> preferredA, string version, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(preferredA);
        if (features.Count < 10 || preferredA.All(p => p) || preferredA.All(p => !p))
        {
            throw new InvalidOperationException($"{features.Count} battles with both verdicts are needed to train a preference model (at least 10).");
        }

        var n = features.Count;
        var mean = new double[PreferenceFeatures.Count];
        var scale = new double[PreferenceFeatures.Count];
        for (var j = 0; j < mean.Length; j++)
        {
            mean[j] = features.Average(f => f[j]);
            var variance = features.Average(f => (f[j] - mean[j]) * (f[j] - mean[j]));
            scale[j] = variance > 1e-12 ? Math.Sqrt(variance) : 1;
        }

        var weights = BalancedWeights(preferredA);
        var ml = new MLContext(seed);
        var rows = Enumerable.Range(0, n).Select(i => new Row
        {
            Features = features[i].Select((v, j) => (float)((v - mean[j]) / scale[j])).ToArray(),
            Label = preferredA[i],
            Weight = weights[i],
        });
        var trainer = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(LogisticRegressionOptions());
        var model = trainer.Fit(ml.Data.LoadFromEnumerable(rows)).Model.SubModel;
        return new PreferenceModel(version, n, mean, scale, model.Weights.Select(w => (double)w).ToArray(), model.Bias);
    }
}
