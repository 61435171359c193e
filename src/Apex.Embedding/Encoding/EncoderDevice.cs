namespace Apex.Embedding.Encoding;

/// <summary>Where the encoder runs. <see cref="Auto"/> and <see cref="Cuda"/> fall back to CPU, with a log line, when CUDA cannot load.</summary>
public enum EncoderDevice
{
    Auto,
    Cpu,
    Cuda,
}
