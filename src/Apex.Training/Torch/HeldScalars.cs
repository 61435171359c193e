using TorchSharp;

namespace Apex.Training.Torch;

/// <summary>
/// Scalars that live as long as the process. TorchSharp makes a finalizable <see cref="Scalar"/> for
/// every number passed to a tensor operation and hands libtorch its native pointer without keeping the
/// object alive: a garbage collection during the native call can free the scalar while libtorch reads
/// it ("Unknown scalar type", or a wrong value). Constants come from here; a computed value is held in a
/// <c>using</c> variable for as long as the operation runs. TorchSharpLifetimeTests enforces both.
/// </summary>
public static class HeldScalars
{
    public static readonly Scalar Zero = 0.ToScalar();

    public static readonly Scalar Half = 0.5.ToScalar();

    public static readonly Scalar One = 1.ToScalar();
}
