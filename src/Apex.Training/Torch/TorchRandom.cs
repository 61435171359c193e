namespace Apex.Training.Torch;

/// <summary>
/// libtorch's default random generator is process-wide. Ghost batches seed it and draw their dropout
/// masks from it; anything else that draws from it (a new head's initial weights, when a checkpoint is
/// loaded or a copy made) must not run in between, or a training step's masks depend on what else the
/// process happened to do at that moment. Everything that draws from it takes this lock.
/// </summary>
public static class TorchRandom
{
    public static readonly Lock Gate = new();
}
