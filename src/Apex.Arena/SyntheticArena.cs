using MathNet.Numerics.Distributions;

namespace Apex.Arena;

/// <summary>The seven predicted scores of one track (streams and likes 0..100, the five aesthetics 1..5).</summary>
public sealed record TrackScoreRow(
    [property: System.Text.Json.Serialization.JsonPropertyName("track_id")] string TrackId,
    [property: System.Text.Json.Serialization.JsonPropertyName("streams")] double Streams,
    [property: System.Text.Json.Serialization.JsonPropertyName("likes")] double Likes,
    [property: System.Text.Json.Serialization.JsonPropertyName("coherence")] double Coherence,
    [property: System.Text.Json.Serialization.JsonPropertyName("musicality")] double Musicality,
    [property: System.Text.Json.Serialization.JsonPropertyName("memorability")] double Memorability,
    [property: System.Text.Json.Serialization.JsonPropertyName("clarity")] double Clarity,
    [property: System.Text.Json.Serialization.JsonPropertyName("naturalness")] double Naturalness);

/// <summary>
/// Synthetic battles from known strengths, for tests and benchmarks: systems get true ratings, each
/// battle's tracks a quality around their system's strength (<see cref="QualityNoise"/>), the judge prefers
/// A with the Bradley-Terry probability of the two qualities, with a share of ties and both-bad votes; a
/// win is drawn so that A's expected score (a tie as half) stays σ(q_A − q_B), so with no quality noise
/// the true ratings are exactly what a Bradley-Terry fit estimates. With scores, each track's
/// seven scores are noisy views of its quality (aesthetics more so on vocal tracks), so a preference
/// model can learn something, as the paper's experiment found, but not everything.
/// </summary>
public sealed record SyntheticArena(int Systems, int Battles, int Seed, double TieShare = 0.08, double BothBadShare = 0.04, double InstrumentalShare = 0.6, double QualityNoise = 0.5)
{
    public sealed record Result(IReadOnlyList<Battle> Battles, IReadOnlyDictionary<string, double> TrueRatings, IReadOnlyList<TrackScoreRow> Scores);

    public Result Generate(bool withScores)
    {
        var random = new Random(Seed);
        var normal = new Normal(0, 1, random);
        var strength = Enumerable.Range(0, Systems).Select(_ => normal.Sample() * 0.8).ToArray();
        var mean = strength.Average();
        var names = Enumerable.Range(0, Systems).Select(i => $"system-{i:D3}").ToArray();
        var truth = names.Select((name, i) => (name, 1000 + (BradleyTerry.Scale * (strength[i] - mean)))).ToDictionary(p => p.name, p => p.Item2);
        var battles = new List<Battle>(Battles);
        var scores = new List<TrackScoreRow>();
        for (var k = 0; k < Battles; k++)
        {
            var a = random.Next(Systems);
            var b = random.Next(Systems - 1);
            if (b >= a)
            {
                b++;
            }

            var instrumental = random.NextDouble() < InstrumentalShare;
            var qa = strength[a] + (normal.Sample() * QualityNoise);
            var qb = strength[b] + (normal.Sample() * QualityNoise);
            var u = random.NextDouble();
            var expected = 1 / (1 + Math.Exp(qb - qa));
            var winA = Math.Clamp((expected - (TieShare / 2)) / (1 - TieShare), 0, 1);
            var winner = u < BothBadShare ? BattleWinner.BothBad
                : u < BothBadShare + TieShare ? BattleWinner.Tie
                : random.NextDouble() < winA ? BattleWinner.ModelA : BattleWinner.ModelB;
            var id = $"battle-{Seed}-{k}";
            string? trackA = null, trackB = null;
            if (withScores)
            {
                trackA = id + "-a";
                trackB = id + "-b";
                scores.Add(Scores(trackA, qa, instrumental, random, normal));
                scores.Add(Scores(trackB, qb, instrumental, random, normal));
            }

            // Spread evenly over one year, so that period filters (arena-eval --months) have something to cut.
            var at = SyntheticStart.AddSeconds(k * (365.0 * 24 * 3600 / Math.Max(1, Battles)));
            battles.Add(new Battle(id, names[a], names[b], winner, instrumental, trackA, trackB, $"voter-{random.Next(Math.Max(1, Battles / 20))}", at));
        }

        return new Result(battles, truth, scores);
    }

    /// <summary>When the synthetic battles begin.</summary>
    public static readonly DateTimeOffset SyntheticStart = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static TrackScoreRow Scores(string id, double quality, bool instrumental, Random random, Normal normal)
    {
        double Popularity(double noise) => 100 / (1 + Math.Exp(-((quality * 0.8) + (normal.Sample() * noise))));
        double Aesthetic(double weight) => 1 + (4 / (1 + Math.Exp(-((quality * weight) + (normal.Sample() * 0.9)))));
        var vocalBoost = instrumental ? 0.6 : 1.0;
        _ = random;
        return new TrackScoreRow(id, Popularity(1.2), Popularity(1.2), Aesthetic(0.7 * vocalBoost), Aesthetic(0.8 * vocalBoost), Aesthetic(0.5 * vocalBoost), Aesthetic(0.9), Aesthetic(0.6 * vocalBoost));
    }
}
