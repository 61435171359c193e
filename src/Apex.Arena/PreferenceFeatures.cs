namespace Apex.Arena;

/// <summary>
/// The paper's 31 preference features of a battle: over 10 score dimensions (the seven predicted scores,
/// combined popularity, combined SongEval, combined overall; combinations on scales normalised to 0..1)
/// the difference a − b, the ratio a / (b + ε) and the difference times the instrumental flag; then the flag.
/// </summary>
public static class PreferenceFeatures
{
    public const int Count = 31;

    public const double Epsilon = 1e-6;

    public static readonly IReadOnlyList<string> Dimensions =
        ["streams", "likes", "coherence", "musicality", "memorability", "clarity", "naturalness", "combined_popularity", "combined_songeval", "combined_overall"];

    /// <summary>Feature names in order: diff_*, ratio_*, inter_* per dimension, then instrumental.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [.. Dimensions.SelectMany(d => new[] { "diff_" + d, "ratio_" + d, "inter_" + d }), "instrumental"];

    /// <summary>The ten dimensions of one track.</summary>
    public static double[] DimensionsOf(TrackScoreRow s)
    {
        ArgumentNullException.ThrowIfNull(s);
        double[] aesthetics = [s.Coherence, s.Musicality, s.Memorability, s.Clarity, s.Naturalness];
        var popularity = new[] { s.Streams / 100, s.Likes / 100 };
        var songEval = aesthetics.Select(a => (a - 1) / 4).ToArray();
        return [s.Streams, s.Likes, .. aesthetics, popularity.Average(), songEval.Average(), popularity.Concat(songEval).Average()];
    }

    public static float[] Of(TrackScoreRow a, TrackScoreRow b, bool instrumental)
    {
        var da = DimensionsOf(a);
        var db = DimensionsOf(b);
        var flag = instrumental ? 1.0 : 0.0;
        var features = new float[Count];
        for (var d = 0; d < da.Length; d++)
        {
            var diff = da[d] - db[d];
            features[(3 * d) + 0] = (float)diff;
            features[(3 * d) + 1] = (float)(da[d] / (db[d] + Epsilon));
            features[(3 * d) + 2] = (float)(diff * flag);
        }

        features[Count - 1] = (float)flag;
        return features;
    }
}
