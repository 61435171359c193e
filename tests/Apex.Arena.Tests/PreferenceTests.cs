
namespace Apex.Arena.Tests;

public sealed class PreferenceTests
{
    [Fact]
    public void The_31_features_of_a_hand_made_battle()
    {
        var a = new TrackScoreRow("a", Streams: 80, Likes: 60, Coherence: 4, Musicality: 3, Memorability: 5, Clarity: 2, Naturalness: 1);
        var b = new TrackScoreRow("b", Streams: 40, Likes: 60, Coherence: 2, Musicality: 3, Memorability: 1, Clarity: 2, Naturalness: 5);

        var vocal = PreferenceFeatures.Of(a, b, instrumental: false);
        var instrumental = PreferenceFeatures.Of(a, b, instrumental: true);

        Assert.Equal(31, vocal.Length);
        Assert.Equal(PreferenceFeatures.Names.Count, vocal.Length);
        Assert.Equal(40f, vocal[0]);                             // diff_streams
        Assert.Equal(2f, vocal[1], 5);                           // ratio_streams
        Assert.Equal(0f, vocal[2]);                              // inter_streams on a vocal battle
        Assert.Equal(40f, instrumental[2]);                      // … and on an instrumental one
        Assert.Equal(0.2f, vocal[PreferenceFeatures.Names.ToList().IndexOf("ratio_naturalness")], 5);
        // combined popularity: a (0.8 + 0.6)/2 = 0.7, b (0.4 + 0.6)/2 = 0.5
        Assert.Equal(0.2f, vocal[PreferenceFeatures.Names.ToList().IndexOf("diff_combined_popularity")], 5);
        // combined SongEval: a mean((3,2,4,1,0)/4) = 0.5, b mean((1,2,0,1,4)/4) = 0.4
        Assert.Equal(0.1f, vocal[PreferenceFeatures.Names.ToList().IndexOf("diff_combined_songeval")], 5);
        Assert.Equal((0f, 1f), (vocal[30], instrumental[30]));
    }

    [Fact]
    public void Folds_are_stratified_and_seeded()
    {
        var labels = Enumerable.Range(0, 103).Select(i => i % 3 == 0).ToArray();

        var folds = PreferenceEvaluation.StratifiedFolds(labels, 10, seed: 5);

        Assert.Equal(folds, PreferenceEvaluation.StratifiedFolds(labels, 10, seed: 5));
        Assert.NotEqual(folds, PreferenceEvaluation.StratifiedFolds(labels, 10, seed: 6));
        var positives = labels.Count(l => l);
        for (var f = 0; f < 10; f++)
        {
            var inFold = Enumerable.Range(0, labels.Length).Where(i => folds[i] == f).ToList();
            Assert.InRange(inFold.Count(i => labels[i]), positives / 10, (positives / 10) + 1);
            Assert.InRange(inFold.Count(i => !labels[i]), (labels.Length - positives) / 10, ((labels.Length - positives) / 10) + 1);
        }
    }

    [Fact]
    public void The_preference_experiment_on_planted_battles_beats_chance_and_reports_what_it_left_out()
    {
        var synthetic = new SyntheticArena(Systems: 12, Battles: 1_300, Seed: 7).Generate(withScores: true);
        var scores = synthetic.Scores.ToDictionary(s => s.TrackId);
        var battles = synthetic.Battles.Append(new Battle("no-scores", "system-000", "system-001", BattleWinner.ModelA, true, "ghost-a", "ghost-b")).ToList();

        var evaluation = PreferenceEvaluation.Run(battles, scores, folds: 5, seed: 1);

        Assert.Equal(1, evaluation.Excluded["missing_scores"]);
        Assert.Equal(synthetic.Battles.Count(b => b.Winner == BattleWinner.Tie), evaluation.Excluded["tie"]);
        Assert.Equal(synthetic.Battles.Count(b => b.Winner is BattleWinner.ModelA or BattleWinner.ModelB), evaluation.Battles);
        Assert.Equal(PreferenceEvaluation.ClassifierNames.Order(), evaluation.Classifiers.Keys.Order());
        // The planted signal is weak on purpose (qualities seen through noise): every classifier must still
        // clear AUC 0.58 and accuracy 0.55 overall; chance is 0.5.
        Assert.All(evaluation.Classifiers.Values, r =>
        {
            Assert.True(r.Overall.Auc > 0.58, $"AUC {r.Overall.Auc}");
            Assert.True(r.Overall.Accuracy > 0.55, $"accuracy {r.Overall.Accuracy}");
            Assert.Equal(r.Overall.Battles, r.Instrumental.Battles + r.Vocal.Battles);
        });
        Assert.True(evaluation.Baselines["all_scores"].Overall.Auc > 0.55);
    }
}
