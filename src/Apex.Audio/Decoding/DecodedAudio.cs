namespace Apex.Audio.Decoding;

/// <summary>
/// A decoded input cut into fixed-length segments (the last one zero-padded).
/// <see cref="SampleCount"/> counts real samples only, not padding.
/// </summary>
public sealed record DecodedAudio(string Path, int SampleRate, int SegmentSamples, long SampleCount, IReadOnlyList<float[]> Segments)
{
    public double DurationSeconds => (double)SampleCount / SampleRate;
}
