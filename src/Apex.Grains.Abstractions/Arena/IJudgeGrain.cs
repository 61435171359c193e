namespace Apex.Grains.Arena;

/// <summary>
/// The cluster's preference model (key 0): logistic regression on the 31 features of recorded battles
/// whose tracks the cluster has scored, retrained in the background as battles grow. Silos fetch the
/// model and judge pairs locally.
/// </summary>
[Alias("Apex.Grains.Arena.IJudgeGrain")]
public interface IJudgeGrain : IGrainWithIntegerKey
{
    [Alias("GetModelAsync")]
    Task<JudgeModel?> GetModelAsync();

    /// <summary>Retrains now on every usable battle; answers the model (null when too few battles are usable) and why.</summary>
    [Alias("TrainAsync")]
    [ResponseTimeout("00:10:00")]
    Task<JudgeTraining> TrainAsync();
}

[GenerateSerializer]
[Alias("Apex.Grains.Arena.JudgeModel")]
public sealed record JudgeModel(
    [property: Id(0)] string Version,
    [property: Id(1)] int TrainedOn,
    [property: Id(2)] double[] Mean,
    [property: Id(3)] double[] Scale,
    [property: Id(4)] double[] Weights,
    [property: Id(5)] double Bias,
    [property: Id(6)] DateTimeOffset TrainedAt);

[GenerateSerializer]
[Alias("Apex.Grains.Arena.JudgeTraining")]
public sealed record JudgeTraining(
    [property: Id(0)] JudgeModel? Model,
    [property: Id(1)] int Usable,
    [property: Id(2)] string? Reason);
