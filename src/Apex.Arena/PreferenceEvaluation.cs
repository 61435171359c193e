using Apex.Core.Metrics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Transforms;

namespace Apex.Arena;

/// <summary>Accuracy and ROC-AUC of one predictor on one subset of battles.</summary>
public sealed record PreferenceMetrics(int Battles, double Accuracy, double? Auc);

/// <summary>A predictor's metrics overall and on instrumental and vocal battles.</summary>
public sealed record PreferenceReport(PreferenceMetrics Overall, PreferenceMetrics Instrumental, PreferenceMetrics Vocal);

/// <summary>The arena-eval result: battles used and left out, classifiers under stratified k-fold CV, rule baselines.</summary>
public sealed record ArenaEvaluation(
    int Battles,
    IReadOnlyDictionary<string, int> Excluded,
    int Folds,
    int Seed,
    IReadOnlyDictionary<string, PreferenceReport> Classifiers,
    IReadOnlyDictionary<string, PreferenceReport> Baselines);

/// <summary>
/// The paper's preference experiment: battles with a binary verdict and scores for both tracks become
/// the 31 features; five classifiers are scored by stratified, seeded k-fold CV (out-of-fold predictions
/// pooled, then split by instrumental/vocal), beside two rule baselines. Classifiers (ML.NET where it has
/// one): logistic regression (L-BFGS, L2 = 1/C with C = 0.1, balanced class weights), random forest
/// (FastForest, 300 trees, 16 leaves ≈ depth 4), gradient-boosted trees (FastTree, 300 trees, learning
/// rate 0.05, 16 leaves), AdaBoost (300 stumps, learning rate 0.05; by hand) and an SVM (ML.NET's
/// LinearSvm, balanced; ML.NET has no kernel SVM, so the RBF kernel is approximated by random Fourier
/// features, a stand-in for scikit-learn's SVC), its kernel (linear or RBF) and λ chosen by an inner
/// 3-fold grid on each training fold, as the paper grid-searches kernel and C.
/// </summary>
public static class PreferenceEvaluation
{
    public static readonly IReadOnlyList<string> ClassifierNames = ["logistic_regression", "random_forest", "gradient_boosting", "adaboost", "svm"];

    private sealed class Row
    {
        [VectorType(PreferenceFeatures.Count)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }

        public float Weight { get; set; }
    }

    private sealed class Prediction
    {
        public float Score { get; set; }
    }

    private sealed record Example(Battle Battle, float[] Features, bool Label, bool Instrumental, TrackScoreRow A, TrackScoreRow B);

    /// <summary>Runs the experiment; with <c>since</c>, only battles at or after that time count (the paper takes its last four months), and battles without a time are left out too.</summary>
    public static ArenaEvaluation Run(IReadOnlyList<Battle> battles, IReadOnlyDictionary<string, TrackScoreRow> scores, int folds = 10, int seed = 42, DateTimeOffset? since = null)
    {
        var (examples, excluded, assignment) = Prepare(battles, scores, folds, seed, since);
        var classifiers = ClassifierNames.ToDictionary(name => name, name => Report(examples, CrossValidate(examples, assignment, folds, seed, name)));
        // The rules compare sums of scores on 0..1 scales (popularity / 100, SongEval (s − 1) / 4), so that
        // the two popularity scores do not drown the five aesthetic ones.
        var baselines = new Dictionary<string, PreferenceReport>
        {
            ["all_scores"] = Report(examples, examples.Select(e => Popularity(e.A) + SongEval(e.A) - Popularity(e.B) - SongEval(e.B)).ToArray()),
            ["popularity"] = Report(examples, examples.Select(e => Popularity(e.A) - Popularity(e.B)).ToArray()),
            ["songeval"] = Report(examples, examples.Select(e => SongEval(e.A) - SongEval(e.B)).ToArray()),
            ["likes"] = Report(examples, examples.Select(e => (e.A.Likes - e.B.Likes) / 100).ToArray()),
        };
        return new ArenaEvaluation(examples.Count, excluded, folds, seed, classifiers, baselines);
    }

    /// <summary>
    /// The experiment's data as another implementation needs it to run the same cross-validation: per
    /// usable battle its 31 features, verdict (A preferred), instrumental flag and fold.
    /// </summary>
    public static (IReadOnlyList<float[]> Features, IReadOnlyList<bool> Labels, IReadOnlyList<bool> Instrumental, IReadOnlyList<int> Folds) Data(
        IReadOnlyList<Battle> battles, IReadOnlyDictionary<string, TrackScoreRow> scores, int folds = 10, int seed = 42, DateTimeOffset? since = null)
    {
        var (examples, _, assignment) = Prepare(battles, scores, folds, seed, since);
        return (examples.Select(e => e.Features).ToList(), examples.Select(e => e.Label).ToList(), examples.Select(e => e.Instrumental).ToList(), assignment);
    }

    private static (List<Example> Examples, Dictionary<string, int> Excluded, int[] Folds) Prepare(
        IReadOnlyList<Battle> battles, IReadOnlyDictionary<string, TrackScoreRow> scores, int folds, int seed, DateTimeOffset? since)
    {
        ArgumentNullException.ThrowIfNull(battles);
        ArgumentNullException.ThrowIfNull(scores);
        var excluded = new Dictionary<string, int> { ["tie"] = 0, ["both_bad"] = 0, ["missing_scores"] = 0, ["missing_instrumental_flag"] = 0 };
        if (since is not null)
        {
            excluded["before_period"] = 0;
            excluded["no_time"] = 0;
        }

        var examples = new List<Example>();
        foreach (var battle in battles)
        {
            if (since is not null && battle.Timestamp is null)
            {
                excluded["no_time"]++;
            }
            else if (since is { } from && battle.Timestamp < from)
            {
                excluded["before_period"]++;
            }
            else if (battle.Winner is BattleWinner.Tie or BattleWinner.BothBad)
            {
                excluded[battle.Winner == BattleWinner.Tie ? "tie" : "both_bad"]++;
            }
            else if (battle.TrackA is null || battle.TrackB is null || !scores.TryGetValue(battle.TrackA, out var a) || !scores.TryGetValue(battle.TrackB, out var b))
            {
                excluded["missing_scores"]++;
            }
            else if (battle.Instrumental is not { } instrumental)
            {
                excluded["missing_instrumental_flag"]++;
            }
            else
            {
                examples.Add(new Example(battle, PreferenceFeatures.Of(a, b, instrumental), battle.Winner == BattleWinner.ModelA, instrumental, a, b));
            }
        }

        if (examples.Count < folds * 2 || examples.All(e => e.Label) || examples.All(e => !e.Label))
        {
            throw new InvalidDataException($"{examples.Count} usable battles (both verdicts needed, at least {folds * 2}): too few for {folds}-fold cross-validation.");
        }

        return (examples, excluded, StratifiedFolds(examples.Select(e => e.Label).ToArray(), folds, seed));
    }

    /// <summary>Fold of each example: each class shuffled with the seed and dealt round-robin, so every fold keeps the class balance.</summary>
    public static int[] StratifiedFolds(IReadOnlyList<bool> labels, int folds, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var assignment = new int[labels.Count];
        var random = new Random(seed);
        foreach (var label in new[] { false, true })
        {
            var members = Enumerable.Range(0, labels.Count).Where(i => labels[i] == label).ToArray();
            random.Shuffle(members);
            for (var k = 0; k < members.Length; k++)
            {
                assignment[members[k]] = k % folds;
            }
        }

        return assignment;
    }

    private static double Popularity(TrackScoreRow s) => (s.Streams + s.Likes) / 100;

    private static double SongEval(TrackScoreRow s) => (s.Coherence + s.Musicality + s.Memorability + s.Clarity + s.Naturalness - 5) / 4;

    private static double[] CrossValidate(List<Example> examples, int[] assignment, int folds, int seed, string classifier)
    {
        var scores = new double[examples.Count];
        for (var fold = 0; fold < folds; fold++)
        {
            var train = Enumerable.Range(0, examples.Count).Where(i => assignment[i] != fold).ToList();
            var test = Enumerable.Range(0, examples.Count).Where(i => assignment[i] == fold).ToList();
            var predict = Fit(train.Select(i => examples[i]).ToList(), classifier, seed + fold);
            foreach (var i in test)
            {
                scores[i] = predict(examples[i].Features);
            }
        }

        return scores;
    }

    /// <summary>Trains one classifier; answers a scoring function (higher: A preferred; above 0: predicted A).</summary>
    private static Func<float[], double> Fit(List<Example> train, string classifier, int seed)
    {
        // Class weights as the paper sets them: balanced for logistic regression, the forest and the SVM;
        // XGBoost's positive-class weight (majority / minority) for boosting; none for AdaBoost, which
        // scikit-learn gives no class weight.
        var labels = train.Select(e => e.Label).ToList();
        var weights = classifier == "gradient_boosting" ? PreferenceModel.ClassRatioWeights(labels) : PreferenceModel.BalancedWeights(labels);
        if (classifier == "adaboost")
        {
            var model = AdaBoost.Train(train.Select(e => e.Features).ToList(), labels, [.. Enumerable.Repeat(1.0, train.Count)]);
            return model.Score;
        }

        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(train.Select((e, i) => new Row { Features = e.Features, Label = e.Label, Weight = weights[i] }));
        if (classifier == "svm")
        {
            var chosen = ChooseSvm(ml, train, weights, seed);
            return Score(ml, Svm(ml, chosen).Fit(data), threshold: 0);
        }

        IEstimator<ITransformer> pipeline = classifier switch
        {
            "logistic_regression" => ml.Transforms.NormalizeMeanVariance("Features").Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(PreferenceModel.LogisticRegressionOptions())),
            "random_forest" => ml.BinaryClassification.Trainers.FastForest(
                new FastForestBinaryTrainer.Options { NumberOfTrees = 300, NumberOfLeaves = 16, ExampleWeightColumnName = "Weight", NumberOfThreads = 1, Seed = seed }),
            "gradient_boosting" => ml.BinaryClassification.Trainers.FastTree(
                new FastTreeBinaryTrainer.Options { NumberOfTrees = 300, NumberOfLeaves = 16, LearningRate = 0.05, ExampleWeightColumnName = "Weight", NumberOfThreads = 1, Seed = seed }),
            _ => throw new ArgumentException($"Unknown classifier '{classifier}'.", nameof(classifier)),
        };
        // FastForest's score is the mean leaf value (a fraction of positives): 0.5 is its boundary.
        return Score(ml, pipeline.Fit(data), threshold: classifier == "random_forest" ? 0.5 : 0);
    }

    /// <summary>One point of the SVM's grid: the kernel (linear, or RBF through random Fourier features) and λ (= 1 / (C · n)).</summary>
    private sealed record SvmSetting(bool Rbf, float Lambda);

    /// <summary>Random Fourier features standing in for the RBF kernel (ML.NET's LinearSvm has no kernel); γ = 1 / features, scikit-learn's "scale" on standardised inputs.</summary>
    private const int FourierFeatures = 256;

    private static readonly IReadOnlyList<SvmSetting> SvmGrid =
        [.. new[] { false, true }.SelectMany(rbf => new[] { 1e-3f, 1e-2f, 1e-1f }.Select(lambda => new SvmSetting(rbf, lambda)))];

    private static EstimatorChain<BinaryPredictionTransformer<LinearBinaryModelParameters>> Svm(MLContext ml, SvmSetting setting)
    {
        IEstimator<ITransformer> features = ml.Transforms.NormalizeMeanVariance("Features");
        if (setting.Rbf)
        {
            features = features.Append(ml.Transforms.ApproximatedKernelMap("Features", rank: FourierFeatures, useCosAndSinBases: true,
                generator: new GaussianKernel(gamma: 1f / PreferenceFeatures.Count), seed: 7));
        }

        return features.Append(ml.BinaryClassification.Trainers.LinearSvm(
            new LinearSvmTrainer.Options { Lambda = setting.Lambda, NumberOfIterations = 200, ExampleWeightColumnName = "Weight" }));
    }

    /// <summary>The grid search: the kernel and λ with the best mean AUC over an inner stratified 3-fold split of the training fold.</summary>
    private static SvmSetting ChooseSvm(MLContext ml, List<Example> train, float[] weights, int seed)
    {
        var inner = StratifiedFolds(train.Select(e => e.Label).ToArray(), 3, seed);
        return SvmGrid.MaxBy(setting => Enumerable.Range(0, 3).Average(fold =>
        {
            var fit = Enumerable.Range(0, train.Count).Where(i => inner[i] != fold).ToList();
            var held = Enumerable.Range(0, train.Count).Where(i => inner[i] == fold).ToList();
            var data = ml.Data.LoadFromEnumerable(fit.Select(i => new Row { Features = train[i].Features, Label = train[i].Label, Weight = weights[i] }));
            var predict = Score(ml, Svm(ml, setting).Fit(data), threshold: 0);
            return Auc(held.Select(i => predict(train[i].Features)).ToArray(), held.Select(i => train[i].Label).ToArray()) ?? 0.5;
        }))!;
    }

    private static Func<float[], double> Score(MLContext ml, ITransformer model, double threshold)
    {
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model);
        var gate = new Lock();
        return features =>
        {
            lock (gate)
            {
                return engine.Predict(new Row { Features = features }).Score - threshold;
            }
        };
    }

    /// <summary>ROC-AUC, or null where the subset holds one verdict only.</summary>
    private static double? Auc(double[] scores, bool[] labels) =>
        labels.Any(l => l) && labels.Any(l => !l) ? RocAuc.Compute(scores, labels) : null;

    private static PreferenceReport Report(List<Example> examples, double[] scores)
    {
        PreferenceMetrics Metrics(Func<Example, bool> include)
        {
            var picked = Enumerable.Range(0, examples.Count).Where(i => include(examples[i])).ToList();
            if (picked.Count == 0)
            {
                return new PreferenceMetrics(0, double.NaN, null);
            }

            var accuracy = picked.Count(i => (scores[i] > 0) == examples[i].Label) / (double)picked.Count;
            return new PreferenceMetrics(picked.Count, accuracy, Auc(picked.Select(i => scores[i]).ToArray(), picked.Select(i => examples[i].Label).ToArray()));
        }

        return new PreferenceReport(Metrics(_ => true), Metrics(e => e.Instrumental), Metrics(e => !e.Instrumental));
    }
}
