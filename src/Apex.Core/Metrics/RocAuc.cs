using MathNet.Numerics.Statistics;

namespace Apex.Core.Metrics;

/// <summary>Area under the ROC curve.</summary>
public static class RocAuc
{
    /// <summary>
    /// AUC as the Mann–Whitney statistic: the probability that a random positive scores above a random
    /// negative, ties counted as one half. Written here because neither MathNet nor the BCL has it; the
    /// average ranks come from MathNet.
    /// </summary>
    public static double Compute(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels)
    {
        if (scores.Length != labels.Length)
        {
            throw new ArgumentException($"Scores ({scores.Length}) and labels ({labels.Length}) differ in length.");
        }

        var ranks = scores.ToArray().Ranks(RankDefinition.Average);

        double positives = 0, rankSum = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i])
            {
                positives++;
                rankSum += ranks[i];
            }
        }

        var negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException("ROC-AUC needs at least one positive and one negative label.", nameof(labels));
        }

        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }
}
