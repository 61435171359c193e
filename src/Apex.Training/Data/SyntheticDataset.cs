using Apex.Core.Popularity;
using MathNet.Numerics.Distributions;

namespace Apex.Training.Data;

/// <summary>
/// A synthetic dataset with a planted signal, for tests and benchmarks (never for real claims): each
/// song has a few latent factors; its segment embeddings are a fixed random projection of them plus
/// noise; streams and likes counts are heavy-tailed (log-normal) functions of the factors, likes
/// correlated with streams, both turned into popularity scores per platform; the five aesthetic
/// scores are noisy sigmoids of the factors (noise growing from naturalness to memorability, as the
/// paper found them easiest and hardest) and are missing for a share of songs.
/// </summary>
public sealed record SyntheticDataset(int Songs, int Seed, int Layers = 4, int Hidden = 768, int MaxSegments = 6, double MissingAestheticShare = 0.2)
{
    public const int Factors = 8;

    /// <summary>Aesthetic label noise (s.d. before the sigmoid) per task, in dataset column order.</summary>
    public static readonly IReadOnlyDictionary<string, double> AestheticNoise = new Dictionary<string, double>
    {
        ["coherence"] = 0.3,
        ["musicality"] = 0.4,
        ["memorability"] = 0.9,
        ["clarity"] = 0.35,
        ["naturalness"] = 0.15,
    };

    public DatasetInfo Info => new(Layers, Hidden, $"SYNTHETIC planted-signal dataset (apex dataset synth --songs {Songs} --seed {Seed}); not real engagement data");

    /// <summary>The rows, generated lazily (embeddings song by song) so that large sets stream to disk.</summary>
    public IEnumerable<SongRow> Rows()
    {
        var random = new Random(Seed);
        var normal = new Normal(0, 1, random);
        var latent = new double[Songs][];
        for (var i = 0; i < Songs; i++)
        {
            latent[i] = normal.Samples().Take(Factors).ToArray();
        }

        var streamWeights = Unit(normal, Factors);
        var likeWeights = Unit(normal, Factors);
        var aestheticWeights = AestheticNoise.Keys.Select(_ => Unit(normal, Factors)).ToArray();
        var projection = normal.Samples().Take(Factors * Layers * Hidden).Select(v => (float)(v / Math.Sqrt(Factors))).ToArray();

        var platforms = new string[Songs];
        var streams = new long[Songs];
        var likes = new long[Songs];
        var aesthetics = new float?[Songs][];
        for (var i = 0; i < Songs; i++)
        {
            var z = latent[i];
            platforms[i] = random.NextDouble() < 0.6 ? "suno" : "udio";
            var logStreams = 4 + 1.2 * Dot(streamWeights, z) + 0.6 * normal.Sample();
            // At least one stream: songs without streams leave a dataset, and a synthetic one keeps its size.
            streams[i] = Math.Max(1, (long)Math.Floor(Math.Exp(logStreams) - 2));
            likes[i] = (long)Math.Floor(Math.Exp(0.8 * logStreams - 1.5 + 0.5 * Dot(likeWeights, z) + 0.5 * normal.Sample()));
            var missing = random.NextDouble() < MissingAestheticShare;
            aesthetics[i] = AestheticNoise.Values.Select((noise, j) => missing ? (float?)null : (float)(1 + 4 / (1 + Math.Exp(-(Dot(aestheticWeights[j], z) + noise * normal.Sample()))))).ToArray();
        }

        var labels = SongLabeler.Label(Enumerable.Range(0, Songs).Select(i => new SongCounts($"synth-{i:D7}", platforms[i], streams[i], Math.Max(0, likes[i]))).ToList(), new LabelingOptions());
        var epoch = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < Songs; i++)
        {
            var songRandom = new Random(unchecked((Seed * 1_000_003) + i)); // not HashCode: it is salted per process
            var segments = 1 + songRandom.Next(MaxSegments);
            yield return new SongRow
            {
                TrackId = $"synth-{i:D7}",
                Platform = platforms[i],
                CreatedAt = epoch.AddMinutes(songRandom.Next(365 * 24 * 60)),
                Streams = (float)labels.Kept[i].StreamsScore,
                Likes = (float?)labels.Kept[i].LikesScore,
                Coherence = aesthetics[i][0],
                Musicality = aesthetics[i][1],
                Memorability = aesthetics[i][2],
                Clarity = aesthetics[i][3],
                Naturalness = aesthetics[i][4],
                Instrumental = songRandom.NextDouble() < 0.3,
                Segments = segments,
                Embedding = Embed(latent[i], projection, segments, new Normal(0, 1, songRandom)),
            };
        }
    }

    private float[] Embed(double[] z, float[] projection, int segments, Normal noise)
    {
        var width = Layers * Hidden;
        var clean = new float[width];
        for (var f = 0; f < Factors; f++)
        {
            var zf = (float)z[f];
            var row = projection.AsSpan(f * width, width);
            for (var d = 0; d < width; d++)
            {
                clean[d] += zf * row[d];
            }
        }

        var embedding = new float[segments * width];
        for (var s = 0; s < segments; s++)
        {
            for (var d = 0; d < width; d++)
            {
                embedding[s * width + d] = clean[d] + (float)(0.7 * noise.Sample());
            }
        }

        return embedding;
    }

    private static double[] Unit(Normal normal, int n)
    {
        var v = normal.Samples().Take(n).ToArray();
        var norm = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / norm).ToArray();
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
