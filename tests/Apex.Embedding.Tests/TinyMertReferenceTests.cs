using Apex.Audio.Decoding;
using Apex.Embedding.Encoding;

namespace Apex.Embedding.Tests;

/// <summary>The fixture audio through Apex.Audio + the ONNX encoder must give what PyTorch gave.</summary>
public sealed class TinyMertReferenceTests
{
    private const double Tolerance = 1e-4;

    [Fact]
    public async Task Decoding_matches_the_samples_the_reference_was_computed_on()
    {
        var reference = Fixtures.LoadReference();

        var audio = await new FfmpegAudioDecoder().DecodeAsync(Fixtures.Sample(reference.Audio));

        Assert.Equal(reference.DecodedSamples, audio.SampleCount);
        var sum = audio.Segments.Sum(s => s.Sum(x => (double)x));
        var absSum = audio.Segments.Sum(s => s.Sum(x => Math.Abs((double)x)));
        Assert.Equal(reference.DecodedSum, sum, 1e-3);
        Assert.Equal(reference.DecodedAbsSum, absSum, 1e-2);
    }

    [Fact]
    public async Task Onnx_embedding_of_the_fixture_audio_matches_pytorch()
    {
        var reference = Fixtures.LoadReference();
        using var encoder = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1 });
        var embedder = new AudioEmbedder(new FfmpegAudioDecoder(), encoder);

        var embedding = await embedder.EmbedAsync(new EmbedRequest(Fixtures.Sample(reference.Audio)));

        Assert.Equal(reference.Segments, embedding.SegmentCount);
        Assert.Equal(reference.Layers, embedding.Layers);
        Assert.Equal(reference.Hidden, embedding.Hidden);
        var maxDiff = 0.0;
        for (var s = 0; s < reference.Segments; s++)
        {
            var segment = embedding.Segment(s);
            for (var l = 0; l < reference.Layers.Length; l++)
            {
                for (var h = 0; h < reference.Hidden; h++)
                {
                    maxDiff = Math.Max(maxDiff, Math.Abs(segment[l * reference.Hidden + h] - reference.LayerMeans[s][l][h]));
                }
            }
        }

        Assert.True(maxDiff <= Tolerance, $"max |ONNX - PyTorch| = {maxDiff:E3} > {Tolerance:E0}");
        var song = embedding.SongMean();
        var songDiff = reference.SongMean.SelectMany(l => l).Select((v, i) => Math.Abs(v - song[i])).Max();
        Assert.True(songDiff <= Tolerance, $"song mean differs by {songDiff:E3}");
    }

    [Fact]
    public async Task Batch_size_does_not_change_the_result()
    {
        var audio = await new FfmpegAudioDecoder().DecodeAsync(Fixtures.Sample("macleod-vibe-ace.ogg"));
        using var one = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1 });
        using var four = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 4 });

        var a = one.Encode(audio.Segments);
        var b = four.Encode(audio.Segments);

        Assert.Equal(3, audio.Segments.Count);
        Assert.Equal(a.Length, b.Length);
        // Batched kernels sum in another order: equal to float32 rounding, within the contract's 1e-4.
        Assert.All(a.Zip(b), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4));
        // Different segments of real music give different embeddings.
        Assert.NotEqual(a.AsSpan(0, 128).ToArray(), a.AsSpan(128, 128).ToArray());
    }

    [Fact]
    public async Task Concurrent_calls_on_one_encoder_give_the_same_results_as_sequential_ones()
    {
        var audio = await new FfmpegAudioDecoder().DecodeAsync(Fixtures.Sample("macleod-vibe-ace.ogg"));
        using var encoder = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 2 });
        var expected = encoder.Encode(audio.Segments);

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => encoder.Encode(audio.Segments))));

        // Concurrent runs split ORT's thread pool differently, which moves the last float bits;
        // mixed-up buffers would be off by whole units.
        Assert.All(results, r => Assert.Equal(expected, r, (a, b) => Math.Abs(a - b) < 1e-5));
    }
}
