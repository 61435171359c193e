namespace Apex.Grains.Scoring;

/// <summary>How the emerging view orders young scored tracks.</summary>
public enum EmergingRank
{
    /// <summary>Predicted potential and early velocity, half each: (predicted streams score + velocity score in the cohort) / 2.</summary>
    Potential,

    /// <summary>Most under-rated by their counts so far: predicted minus actual streams score.</summary>
    Gap,
}
