namespace Apex.Embedding.Encoding;

/// <summary>
/// How closely one encoder's pooled layer vectors follow another's on the same audio: the cosine of every
/// (segment, layer) pair, as the lowest and the mean. The INT8 accuracy gate is stated in these terms.
/// </summary>
public sealed record EmbeddingAgreement(double CosineMin, double CosineSum, int Pairs)
{
    public static readonly EmbeddingAgreement None = new(double.PositiveInfinity, 0, 0);

    public double CosineMean => Pairs == 0 ? double.NaN : CosineSum / Pairs;

    /// <summary>Two encoders' outputs for the same segments: segments × layers × <paramref name="hidden"/> floats each.</summary>
    public static EmbeddingAgreement Of(ReadOnlySpan<float> reference, ReadOnlySpan<float> other, int hidden)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hidden);
        if (reference.Length != other.Length || reference.Length % hidden != 0)
        {
            throw new ArgumentException($"The outputs hold {reference.Length} and {other.Length} floats; both must be the same whole number of {hidden}-float vectors.", nameof(other));
        }

        var min = double.PositiveInfinity;
        var sum = 0.0;
        var pairs = reference.Length / hidden;
        for (var p = 0; p < pairs; p++)
        {
            var cosine = Cosine(reference.Slice(p * hidden, hidden), other.Slice(p * hidden, hidden));
            min = Math.Min(min, cosine);
            sum += cosine;
        }

        return new EmbeddingAgreement(min, sum, pairs);
    }

    public EmbeddingAgreement Add(EmbeddingAgreement other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new EmbeddingAgreement(Math.Min(CosineMin, other.CosineMin), CosineSum + other.CosineSum, Pairs + other.Pairs);
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }

        return aa == 0 || bb == 0 ? (aa == bb ? 1 : 0) : dot / Math.Sqrt(aa * bb);
    }
}
