using Apex.Audio.Decoding;

namespace Apex.Audio.Tests;

public sealed class FfmpegAudioDecoderTests : IDisposable
{
    private readonly TestMedia _media = new();
    private readonly FfmpegAudioDecoder _decoder = new();

    public void Dispose() => _media.Dispose();

    [Theory]
    [InlineData("wav", "")]
    [InlineData("mp3", "")]
    [InlineData("flac", "")]
    [InlineData("ogg", "-c:a libvorbis")]
    [InlineData("m4a", "-c:a aac")]
    [InlineData("opus", "-c:a libopus")]
    public async Task Decodes_every_common_format_to_24kHz_mono(string extension, string codec)
    {
        var file = _media.Make($"tone.{extension}", $"-f lavfi -i \"sine=frequency=440:sample_rate=44100:duration=3\" -ac 2 {codec}");

        var audio = await _decoder.DecodeAsync(file);

        Assert.Equal(24_000, audio.SampleRate);
        Assert.Single(audio.Segments);
        Assert.Equal(720_000, audio.Segments[0].Length);
        // Encoders add a little priming/padding; the length is 3 s within 0.1 s.
        Assert.InRange(audio.DurationSeconds, 2.9, 3.1);
        // sine= has amplitude 1/8: RMS 0.125/√2 ≈ 0.0884 whatever the codec.
        var rms = Math.Sqrt(audio.Segments[0].Take((int)audio.SampleCount).Average(s => (double)s * s));
        Assert.InRange(rms, 0.08, 0.097);
    }

    [Fact]
    public async Task Resamples_to_the_target_rate_keeping_pitch()
    {
        var file = _media.Sine("tone.wav", frequency: 1000, seconds: 2, sampleRate: 44_100);

        var audio = await _decoder.DecodeAsync(file);

        Assert.Equal(48_000, audio.SampleCount);
        // A 1 kHz tone crosses zero 2,000 times a second, whatever the sample rate.
        var samples = audio.Segments[0].AsSpan(0, (int)audio.SampleCount);
        var crossings = 0;
        for (var i = 1; i < samples.Length; i++)
        {
            if ((samples[i - 1] < 0) != (samples[i] < 0))
            {
                crossings++;
            }
        }

        Assert.InRange(crossings, 3_990, 4_010);
    }

    [Fact]
    public async Task Full_segments_are_handed_out_in_order_as_they_decode_and_the_padded_last_one_only_with_the_result()
    {
        var handed = new List<(int Index, float[] Samples, long Length)>();

        var audio = await _decoder.DecodeAsync(TestMedia.Sample("macleod-vibe-ace.ogg"), clip: null, (index, samples) => handed.Add((index, samples, samples.Count(v => v != 0))));

        Assert.Equal(3, audio.Segments.Count);
        Assert.Equal([0, 1], handed.Select(h => h.Index));
        Assert.All(handed, h => Assert.Same(audio.Segments[h.Index], h.Samples));
        // Handed out full: nothing was written into a segment after it was handed out.
        Assert.All(handed, h => Assert.Equal(h.Length, h.Samples.Count(v => v != 0)));
        Assert.Equal(audio, await _decoder.DecodeAsync(TestMedia.Sample("macleod-vibe-ace.ogg")), new SameSamples());
    }

    private sealed class SameSamples : IEqualityComparer<DecodedAudio>
    {
        public bool Equals(DecodedAudio? x, DecodedAudio? y) =>
            x!.SampleCount == y!.SampleCount && x.Segments.Zip(y.Segments).All(p => p.First.AsSpan().SequenceEqual(p.Second));

        public int GetHashCode(DecodedAudio obj) => obj.SampleCount.GetHashCode();
    }

    [Fact]
    public async Task Cuts_a_real_recording_into_30s_segments_and_zero_pads_the_last()
    {
        var audio = await _decoder.DecodeAsync(TestMedia.Sample("brahms-hungarian-dance-5.ogg"));

        Assert.Equal(2, audio.Segments.Count);
        Assert.InRange(audio.DurationSeconds, 45.7, 45.9);
        Assert.All(audio.Segments, s => Assert.Equal(720_000, s.Length));
        var realInLast = (int)(audio.SampleCount - 720_000);
        var last = audio.Segments[1];
        Assert.Contains(last.Take(realInLast), s => s != 0);
        Assert.All(last.Skip(realInLast), s => Assert.Equal(0f, s));
    }

    [Fact]
    public async Task A_recording_shorter_than_a_segment_gives_one_padded_segment()
    {
        var audio = await _decoder.DecodeAsync(TestMedia.Sample("sorohan-solo-trumpet-06.ogg"));

        Assert.Single(audio.Segments);
        Assert.InRange(audio.DurationSeconds, 5.2, 5.4);
    }

    [Fact]
    public async Task Segment_length_and_sample_rate_are_options()
    {
        var decoder = new FfmpegAudioDecoder(new AudioOptions { SampleRate = 16_000, SegmentSeconds = 10 });

        var audio = await decoder.DecodeAsync(TestMedia.Sample("brahms-hungarian-dance-5.ogg"));

        Assert.Equal(16_000, audio.SampleRate);
        Assert.Equal(5, audio.Segments.Count);
        Assert.All(audio.Segments, s => Assert.Equal(160_000, s.Length));
    }

    [Fact]
    public async Task A_clip_decodes_only_the_requested_part()
    {
        var whole = await _decoder.DecodeAsync(TestMedia.Sample("macleod-vibe-ace.ogg"));
        var clip = await _decoder.DecodeAsync(TestMedia.Sample("macleod-vibe-ace.ogg"), new AudioClip(10, 40));

        Assert.Equal(720_000, clip.SampleCount);
        // The clip's samples are the whole file's samples from 10 s on.
        var expected = whole.Segments[0].AsSpan(240_000, 1_000).ToArray();
        var actual = clip.Segments[0].AsSpan(0, 1_000).ToArray();
        Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) < 1e-3);
    }

    [Fact]
    public async Task A_missing_file_is_reported()
    {
        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => _decoder.DecodeAsync(_media.PathOf("nowhere.mp3")));
        Assert.Equal(AudioErrorKind.FileNotFound, error.Kind);
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zero_length_file_is_reported_as_empty()
    {
        var file = _media.PathOf("empty.mp3");
        await File.WriteAllBytesAsync(file, []);

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => _decoder.DecodeAsync(file));
        Assert.Equal(AudioErrorKind.Empty, error.Kind);
    }

    [Fact]
    public async Task An_audio_stream_without_samples_is_reported_as_empty()
    {
        var file = _media.Make("silent.wav", "-f lavfi -i anullsrc=r=24000:cl=mono -t 0");

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => _decoder.DecodeAsync(file));
        Assert.Equal(AudioErrorKind.Empty, error.Kind);
    }

    [Fact]
    public async Task A_file_that_is_not_media_is_reported_as_not_audio()
    {
        var file = _media.PathOf("notes.mp3");
        await File.WriteAllBytesAsync(file, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919 % 251)).ToArray());

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => _decoder.DecodeAsync(file));
        Assert.Equal(AudioErrorKind.NotAudio, error.Kind);
    }

    [Theory]
    [InlineData("still.png", "-f lavfi -i color=c=red:s=32x32 -frames:v 1")]
    [InlineData("silent-film.mp4", "-f lavfi -i testsrc=size=64x64:rate=5 -t 1 -c:v mpeg4")]
    public async Task Media_without_an_audio_stream_is_reported(string name, string arguments)
    {
        var file = _media.Make(name, arguments);

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => _decoder.DecodeAsync(file));
        Assert.Equal(AudioErrorKind.NoAudioStream, error.Kind);
        Assert.Contains("no audio stream", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("flac", "")]
    [InlineData("mp3", "")]
    [InlineData("wav", "")]
    [InlineData("m4a", "-c:a aac")]
    public async Task A_truncated_file_is_reported_as_corrupt(string extension, string codec)
    {
        var whole = _media.Make($"whole.{extension}", $"-i \"{TestMedia.Sample("brahms-hungarian-dance-5.ogg")}\" -t 20 {codec}");
        var cut = _media.Truncate(whole, $"cut.{extension}", 0.5);

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => _decoder.DecodeAsync(cut));
        Assert.Equal(AudioErrorKind.Corrupt, error.Kind);
        // The complete file decodes: the failure is the truncation, not the format.
        Assert.InRange((await _decoder.DecodeAsync(whole)).DurationSeconds, 19.9, 20.1);
    }

    [Fact]
    public async Task Audio_longer_than_the_maximum_is_refused()
    {
        var file = _media.Sine("long.wav", 440, seconds: 3);
        var decoder = new FfmpegAudioDecoder(new AudioOptions { MaxDurationSeconds = 2 });

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => decoder.DecodeAsync(file));
        Assert.Equal(AudioErrorKind.TooLong, error.Kind);
        Assert.Contains("maximum is 2 s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audio_with_no_declared_duration_is_stopped_at_the_maximum_while_decoding()
    {
        // Raw ADTS AAC declares no duration, so only the streaming limit can catch it.
        var file = _media.Make("long.aac", "-f lavfi -i \"sine=frequency=440:duration=3\" -c:a aac -f adts");
        var decoder = new FfmpegAudioDecoder(new AudioOptions { MaxDurationSeconds = 2 });

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => decoder.DecodeAsync(file));
        Assert.Equal(AudioErrorKind.TooLong, error.Kind);
    }

    [Fact]
    public async Task A_clip_outside_the_file_is_refused()
    {
        var error = await Assert.ThrowsAsync<AudioDecodeException>(() =>
            _decoder.DecodeAsync(TestMedia.Sample("sorohan-solo-trumpet-06.ogg"), new AudioClip(30, 60)));
        Assert.Equal(AudioErrorKind.InvalidClip, error.Kind);
    }

    [Fact]
    public async Task Missing_ffmpeg_is_reported_with_how_to_install_it()
    {
        var decoder = new FfmpegAudioDecoder(new AudioOptions { FfmpegFolder = _media.Folder });

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => decoder.DecodeAsync(TestMedia.Sample("sorohan-solo-trumpet-06.ogg")));
        Assert.Equal(AudioErrorKind.FfmpegMissing, error.Kind);
        Assert.Contains("apt-get install ffmpeg", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decode_that_outlasts_the_timeout_is_stopped_and_reported()
    {
        var decoder = new FfmpegAudioDecoder(new AudioOptions { Timeout = TimeSpan.FromMilliseconds(1) });

        var error = await Assert.ThrowsAsync<AudioDecodeException>(() => decoder.DecodeAsync(TestMedia.Sample("macleod-sugar-plum-fairy.ogg")));
        Assert.Equal(AudioErrorKind.TimedOut, error.Kind);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_reported_as_a_timeout()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _decoder.DecodeAsync(TestMedia.Sample("macleod-sugar-plum-fairy.ogg"), cancellationToken: cancelled.Token));
    }

    [Fact]
    public void Options_out_of_range_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new FfmpegAudioDecoder(new AudioOptions { SegmentSeconds = 0 }));
        Assert.Throws<ArgumentException>(() => new FfmpegAudioDecoder(new AudioOptions { MaxDurationSeconds = -1 }));
    }
}
