using System.Runtime.InteropServices;
using FFMpegCore.Pipes;

namespace Apex.Audio.Decoding;

/// <summary>
/// Reads ffmpeg's raw float32 output from the pipe straight into fixed-length segments, so no
/// intermediate file or whole-file buffer exists. Stops reading past <c>maxSamples</c>. Each segment
/// that fills is handed to <c>onFullSegment</c> at once (its index and samples, never written again),
/// so a caller can encode it while the rest decodes.
/// </summary>
internal sealed class SegmentingPipeSink(int segmentSamples, long maxSamples, Action<int, float[]>? onFullSegment = null) : IPipeSink
{
    private readonly List<float[]> _segments = [];
    private float[]? _current;
    private int _filled;

    public long SampleCount { get; private set; }

    public bool ExceededMax { get; private set; }

    public IReadOnlyList<float[]> Segments => _segments;

    public string GetStreamArguments() => "-f f32le";

    public async Task ReadAsync(Stream inputStream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        var carry = 0; // bytes of a sample split across two reads
        int read;
        while ((read = await inputStream.ReadAsync(buffer.AsMemory(carry), cancellationToken)) > 0)
        {
            var available = carry + read;
            var whole = available / sizeof(float);
            if (!Append(MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, whole * sizeof(float)))))
            {
                ExceededMax = true;
                return;
            }

            carry = available - whole * sizeof(float);
            buffer.AsSpan(whole * sizeof(float), carry).CopyTo(buffer);
        }
    }

    private bool Append(ReadOnlySpan<float> samples)
    {
        if (SampleCount + samples.Length > maxSamples)
        {
            return false;
        }

        SampleCount += samples.Length;
        while (!samples.IsEmpty)
        {
            if (_current is null)
            {
                // New arrays are zeroed, which is the padding of a short last segment.
                _current = new float[segmentSamples];
                _segments.Add(_current);
                _filled = 0;
            }

            var n = Math.Min(samples.Length, segmentSamples - _filled);
            samples[..n].CopyTo(_current.AsSpan(_filled));
            _filled += n;
            samples = samples[n..];
            if (_filled == segmentSamples)
            {
                onFullSegment?.Invoke(_segments.Count - 1, _current);
                _current = null;
            }
        }

        return true;
    }
}
