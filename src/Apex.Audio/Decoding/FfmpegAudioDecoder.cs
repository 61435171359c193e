using System.Globalization;
using FFMpegCore;
using FFMpegCore.Enums;
using FFMpegCore.Exceptions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Apex.Audio.Decoding;

/// <summary>
/// Decodes with ffprobe + ffmpeg through FFMpegCore: probe first (type, streams, duration), then stream
/// raw float32 mono at the target rate through a pipe into segments.
/// </summary>
public sealed class FfmpegAudioDecoder : IAudioDecoder
{
    // A decoded length this far under the declared one means the file was cut short. Generous, because
    // some formats (VBR MP3 without a Xing header) only estimate their duration.
    private const double TruncationRatio = 0.9;
    private const double TruncationSlackSeconds = 0.5;

    private readonly AudioOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<FFOptions> _ffOptions;

    public FfmpegAudioDecoder(AudioOptions? options = null, ILogger<FfmpegAudioDecoder>? logger = null)
    {
        _options = (options ?? new AudioOptions()).Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _ffOptions = new Lazy<FFOptions>(() => new FFOptions { BinaryFolder = FfmpegLocator.Locate(_options.FfmpegFolder) });
    }

    public AudioOptions Options => _options;

    public Task<DecodedAudio> DecodeAsync(string path, AudioClip? clip = null, CancellationToken cancellationToken = default) =>
        DecodeAsync(path, clip, onFullSegment: null, cancellationToken);

    /// <summary>
    /// Decodes as <see cref="DecodeAsync(string, AudioClip?, CancellationToken)"/> does, handing each full
    /// segment to <paramref name="onFullSegment"/> as soon as ffmpeg has produced it (index, samples), so
    /// encoding can overlap decoding. The last, padded segment comes only with the result; a decode that
    /// fails after some segments were handed out still throws.
    /// </summary>
    public async Task<DecodedAudio> DecodeAsync(string path, AudioClip? clip, Action<int, float[]>? onFullSegment, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        clip ??= AudioClip.Whole;
        CheckFile(path);
        var ffOptions = GetFfOptions(path);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            var declared = await ProbeAsync(path, clip, ffOptions, timeout.Token);
            return await DecodeStreamAsync(path, clip, declared, ffOptions, onFullSegment, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AudioDecodeException(AudioErrorKind.TimedOut, path, $"{path}: decoding took longer than {_options.Timeout.TotalSeconds:0} s and was stopped.");
        }
    }

    public async Task<double?> ProbeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckFile(path);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            return await ProbeAsync(path, AudioClip.Whole, GetFfOptions(path), timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AudioDecodeException(AudioErrorKind.TimedOut, path, $"{path}: probing took longer than {_options.Timeout.TotalSeconds:0} s and was stopped.");
        }
    }

    private static void CheckFile(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new AudioDecodeException(AudioErrorKind.FileNotFound, path, Directory.Exists(path)
                ? $"{path}: is a directory, not an audio file."
                : $"{path}: file not found.");
        }

        if (file.Length == 0)
        {
            throw new AudioDecodeException(AudioErrorKind.Empty, path, $"{path}: the file is empty (0 bytes).");
        }
    }

    private FFOptions GetFfOptions(string path)
    {
        try
        {
            return _ffOptions.Value;
        }
        catch (FileNotFoundException ex)
        {
            throw new AudioDecodeException(AudioErrorKind.FfmpegMissing, path, ex.Message, ex);
        }
    }

    /// <summary>Checks type, streams and length; returns the seconds the clip should decode to, if known.</summary>
    private async Task<double?> ProbeAsync(string path, AudioClip clip, FFOptions ffOptions, CancellationToken cancellationToken)
    {
        IMediaAnalysis analysis;
        try
        {
            analysis = await FFProbe.AnalyseAsync(path, ffOptions, cancellationToken: cancellationToken);
        }
        catch (FFProbeProcessException ex)
        {
            var reason = string.Join(" ", ex.StandardError.Select(l => l.Trim()).Where(l => l.Length > 0));
            reason = reason.Length > 0 ? reason : "ffprobe could not read it";
            // An MP4/M4A cut short loses its index (moov atom), which sits at the end of many files.
            var kind = reason.Contains("moov atom not found", StringComparison.OrdinalIgnoreCase) ? AudioErrorKind.Corrupt : AudioErrorKind.NotAudio;
            var what = kind == AudioErrorKind.Corrupt ? "the file is truncated or corrupt" : "not an audio file ffmpeg can read";
            throw new AudioDecodeException(kind, path, $"{path}: {what} ({reason}).", ex);
        }
        catch (FFMpegException ex)
        {
            throw new AudioDecodeException(AudioErrorKind.NotAudio, path, $"{path}: not an audio file ffmpeg can read ({ex.Message}).", ex);
        }

        if (analysis.AudioStreams.Count == 0)
        {
            var found = analysis.VideoStreams.Count > 0 ? $"{analysis.VideoStreams.Count} video stream(s)" : "no streams";
            throw new AudioDecodeException(AudioErrorKind.NoAudioStream, path, $"{path}: has no audio stream (found {found}, format '{analysis.Format.FormatName}').");
        }

        var total = analysis.Duration.TotalSeconds;
        var known = total > 0;
        if (clip.StartSeconds is < 0 || clip.EndSeconds <= clip.Start || (known && clip.Start >= total))
        {
            throw new AudioDecodeException(AudioErrorKind.InvalidClip, path, $"{path}: clip {Describe(clip)} is not inside the file's {total:0.###} s.");
        }

        if (!known)
        {
            return null;
        }

        var expected = Math.Min(clip.EndSeconds ?? total, total) - clip.Start;
        if (expected > _options.MaxDurationSeconds)
        {
            throw TooLong(path, $"{expected:0.#} s");
        }

        return expected;
    }

    private async Task<DecodedAudio> DecodeStreamAsync(string path, AudioClip clip, double? expectedSeconds, FFOptions ffOptions, Action<int, float[]>? onFullSegment, CancellationToken cancellationToken)
    {
        var sink = new SegmentingPipeSink(_options.SegmentSamples, _options.MaxSamples, onFullSegment);
        var processor = FFMpegArguments
            .FromFileInput(path, verifyExists: false, input =>
            {
                // -xerror: a decoding error ends the run, so corrupt data is reported instead of scored.
                input.WithCustomArgument("-nostdin -xerror");
                if (clip.StartSeconds is { } start)
                {
                    input.WithStartTime(TimeSpan.FromSeconds(start));
                }

                if (clip.EndSeconds is { } end)
                {
                    input.WithDuration(TimeSpan.FromSeconds(end - clip.Start));
                }
            })
            .OutputToPipe(sink, output => output
                .WithCustomArgument("-vn -sn -dn")
                .WithAudioChannels(1)
                .WithAudioSamplingRate(_options.SampleRate)
                .WithAudioCodec("pcm_f32le"))
            .WithLogLevel(FFMpegLogLevel.Error);

        var result = await processor.ProcessAsynchronously(throwOnError: false, ffOptions, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (sink.ExceededMax)
        {
            throw TooLong(path, $"more than {_options.MaxDurationSeconds:0.#} s");
        }

        if (!result.Success)
        {
            var reason = LastLine(result.StandardError) ?? $"ffmpeg exited with code {result.ExitCode}";
            throw new AudioDecodeException(AudioErrorKind.Corrupt, path, $"{path}: the audio is corrupt or truncated; decoding failed after {Seconds(sink.SampleCount):0.##} s ({reason}).");
        }

        if (sink.SampleCount == 0)
        {
            throw new AudioDecodeException(AudioErrorKind.Empty, path, $"{path}: the audio stream holds no samples.");
        }

        var decoded = Seconds(sink.SampleCount);
        if (expectedSeconds is { } expected && decoded < expected * TruncationRatio - TruncationSlackSeconds)
        {
            throw new AudioDecodeException(AudioErrorKind.Corrupt, path, $"{path}: the file is truncated: it declares {expected:0.##} s of audio but only {decoded:0.##} s could be decoded.");
        }

        _logger.LogDebug("Decoded {Path}: {Seconds:0.##} s into {Segments} segment(s)", path, decoded, sink.Segments.Count);
        return new DecodedAudio(path, _options.SampleRate, _options.SegmentSamples, sink.SampleCount, sink.Segments);
    }

    private double Seconds(long samples) => (double)samples / _options.SampleRate;

    private AudioDecodeException TooLong(string path, string length) =>
        new(AudioErrorKind.TooLong, path, $"{path}: the audio is too long ({length}); the maximum is {_options.MaxDurationSeconds:0.#} s. Score a part of it with a clip (start/end seconds).");

    private static string Describe(AudioClip clip) =>
        string.Create(CultureInfo.InvariantCulture, $"[{clip.StartSeconds?.ToString("0.###", CultureInfo.InvariantCulture) ?? "start"}, {clip.EndSeconds?.ToString("0.###", CultureInfo.InvariantCulture) ?? "end"}]");

    private static string? LastLine(IReadOnlyList<string> lines) =>
        lines.LastOrDefault(l => !string.IsNullOrWhiteSpace(l))?.Trim();
}
