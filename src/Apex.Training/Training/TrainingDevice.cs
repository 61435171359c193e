using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>Picks where training runs: <c>auto</c> is CUDA when libtorch sees a GPU (a CUDA build), else CPU.</summary>
public static class TrainingDevice
{
    public static Device Resolve(string choice) => choice switch
    {
        "cpu" => CPU,
        "cuda" => cuda.is_available() ? CUDA : throw new InvalidOperationException("--device cuda: libtorch sees no CUDA device (this build carries the CPU libtorch unless built with -p:ApexCuda=true)."),
        "auto" => cuda.is_available() ? CUDA : CPU,
        _ => throw new ArgumentException($"Unknown device '{choice}': use auto, cpu or cuda."),
    };
}
