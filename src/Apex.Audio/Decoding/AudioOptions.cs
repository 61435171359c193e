namespace Apex.Audio.Decoding;

/// <summary>How audio is decoded and cut. Defaults are the APEX contract: 24 kHz mono, 30 s segments.</summary>
public sealed record AudioOptions
{
    public int SampleRate { get; init; } = 24_000;

    public double SegmentSeconds { get; init; } = 30;

    /// <summary>Longer inputs are refused before decoding (15 minutes by default).</summary>
    public double MaxDurationSeconds { get; init; } = 15 * 60;

    /// <summary>Folder holding ffmpeg and ffprobe; null searches PATH.</summary>
    public string? FfmpegFolder { get; init; }

    /// <summary>An ffmpeg or ffprobe run that takes longer is stopped and reported, so a stuck input never hangs a caller.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    public int SegmentSamples => checked((int)Math.Round(SegmentSeconds * SampleRate));

    public long MaxSamples => checked((long)Math.Ceiling(MaxDurationSeconds * SampleRate));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public AudioOptions Validate()
    {
        if (SampleRate is < 1_000 or > 384_000)
        {
            throw new ArgumentException($"Sample rate {SampleRate} Hz is outside 1,000..384,000 Hz.");
        }

        if (!(SegmentSeconds > 0) || SegmentSeconds * SampleRate > Array.MaxLength)
        {
            throw new ArgumentException($"Segment length {SegmentSeconds} s must be positive and fit in one array.");
        }

        if (!(MaxDurationSeconds > 0))
        {
            throw new ArgumentException($"Maximum duration {MaxDurationSeconds} s must be positive.");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Timeout {Timeout} must be positive.");
        }

        return this;
    }
}
