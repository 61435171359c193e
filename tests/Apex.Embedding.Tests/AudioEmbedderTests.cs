using Apex.Audio.Decoding;
using Apex.Embedding.Encoding;

namespace Apex.Embedding.Tests;

public sealed class AudioEmbedderTests
{
    [Fact]
    public async Task Many_files_come_back_in_input_order_and_a_bad_one_does_not_stop_the_rest()
    {
        using var encoder = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu });
        var embedder = new AudioEmbedder(new FfmpegAudioDecoder(), encoder);
        EmbedRequest[] requests =
        [
            new(Fixtures.Sample("macleod-vibe-ace.ogg")),
            new("/nonexistent/file.mp3"),
            new(Fixtures.Sample("sorohan-solo-trumpet-06.ogg")),
            new(Fixtures.Sample("brahms-hungarian-dance-5.ogg"), new AudioClip(5, 15)),
        ];

        var results = new List<EmbedResult>();
        await foreach (var result in embedder.EmbedManyAsync(requests))
        {
            results.Add(result);
        }

        Assert.Equal(requests, results.Select(r => r.Request));
        Assert.Equal([true, false, true, true], results.Select(r => r.Succeeded));
        Assert.Contains("not found", results[1].Error, StringComparison.Ordinal);
        Assert.Equal([3, 1, 1], results.Where(r => r.Succeeded).Select(r => r.Embedding!.SegmentCount));
        Assert.Equal(10.0, results[3].Embedding!.DurationSeconds, 0.01);
    }

    [Fact]
    public async Task Stopping_early_does_not_leave_work_running()
    {
        using var encoder = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu });
        var embedder = new AudioEmbedder(new FfmpegAudioDecoder(), encoder);
        var requests = Enumerable.Repeat(new EmbedRequest(Fixtures.Sample("sorohan-solo-trumpet-06.ogg")), 20);

        await foreach (var result in embedder.EmbedManyAsync(requests, decodeAhead: 1))
        {
            Assert.True(result.Succeeded);
            break;
        }
    }
}
