using TorchSharp;
using static TorchSharp.torch;

namespace Apex.Training.Torch;

/// <summary>
/// Tensors of .NET arrays in libtorch's own memory. TorchSharp's <c>tensor(array)</c> wraps the pinned
/// array, whose address the garbage collector chooses: libtorch's vectorised kernels and MKL take other
/// code paths for other alignments, and a result could differ in its last bits from run to run or from
/// one silo to another. A copy in libtorch's allocator (64-byte aligned) computes the same every time.
/// </summary>
public static class OwnedTensors
{
    public static Tensor Of(float[] data, ReadOnlySpan<long> shape, Device? device = null)
    {
        using var pinned = tensor(data, shape);
        return device is null || device.type == DeviceType.CPU ? pinned.clone() : pinned.to(device);
    }

    public static Tensor Of(float[] data, Device? device = null) => Of(data, [data.LongLength], device);
}
