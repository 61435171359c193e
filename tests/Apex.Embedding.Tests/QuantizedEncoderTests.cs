using Apex.Audio.Decoding;
using Apex.Core.Encoders;
using Apex.Embedding.Encoding;

namespace Apex.Embedding.Tests;

/// <summary>The INT8 encoder tools/export-mert makes: what it declares, and that ONNX Runtime runs it as the export measured it.</summary>
public sealed class QuantizedEncoderTests
{
    [Fact]
    public void The_int8_fixture_declares_its_precision_and_the_fp32_encoder_it_stands_for()
    {
        using var fp32 = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu });
        using var int8 = new OnnxAudioEncoder(Fixtures.TinyMertInt8, new EncoderOptions { Device = EncoderDevice.Cpu });

        Assert.Equal("fp32", fp32.Info.Precision);
        Assert.Equal("int8", int8.Info.Precision);
        Assert.Equal(fp32.Info.ContentHash, int8.Info.Quantization!.QuantizedFrom);
        Assert.True(int8.Info.Quantization.GatePassed);
        Assert.Equal(fp32.Info.ContentHash[..16], EncoderIdentity.StandsForOf(int8.Info.Identity));
        Assert.NotEqual(EncoderIdentity.HashOf(fp32.Info.Identity), EncoderIdentity.HashOf(int8.Info.Identity));
        // A head trained on the FP32 encoder's embeddings may score the INT8 encoder's; not the other way round.
        Assert.Null(EncoderIdentity.Mismatch(fp32.Info.Identity, int8.Info.Identity));
        Assert.NotNull(EncoderIdentity.Mismatch(int8.Info.Identity, fp32.Info.Identity));
        Assert.True(new FileInfo(Fixtures.TinyMertInt8).Length < new FileInfo(Fixtures.TinyMert).Length);
    }

    [Fact]
    public async Task Onnx_runtime_runs_the_int8_graph_as_the_exports_emulation_computed_it()
    {
        var reference = Fixtures.LoadReference("tiny-mert-int8.reference.json");
        using var encoder = new OnnxAudioEncoder(Fixtures.TinyMertInt8, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1 });

        var embedding = await new AudioEmbedder(new FfmpegAudioDecoder(), encoder).EmbedAsync(new EmbedRequest(Fixtures.Sample(reference.Audio)));

        Assert.Equal(reference.Segments, embedding.SegmentCount);
        var emulated = reference.LayerMeans.SelectMany(s => s.SelectMany(l => l.Select(v => (float)v))).ToArray();
        var agreement = EmbeddingAgreement.Of(emulated, embedding.Values, reference.Hidden);
        // Integer kernels round a few values the other way from the emulation's float64 arithmetic; the
        // flips cascade a little, never far.
        Assert.True(agreement.CosineMin >= 0.9999, $"ORT vs emulation: cosine min {agreement.CosineMin:F6}");
        var maxDiff = emulated.Zip(embedding.Values).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff < 0.05, $"max |ORT - emulation| = {maxDiff:F4}");
    }

    [Fact]
    public async Task On_real_recordings_the_int8_encoder_stays_within_the_accuracy_gate_of_fp32()
    {
        var audio = await new FfmpegAudioDecoder().DecodeAsync(Fixtures.Sample("macleod-vibe-ace.ogg"));
        using var fp32 = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1 });
        using var int8 = new OnnxAudioEncoder(Fixtures.TinyMertInt8, new EncoderOptions { Device = EncoderDevice.Cpu, MaxBatch = 1 });

        var reference = fp32.Encode(audio.Segments);
        var quantized = int8.Encode(audio.Segments);

        var agreement = EmbeddingAgreement.Of(reference, quantized, fp32.Info.HiddenSize);
        Assert.Equal(audio.Segments.Count * fp32.Info.LayerCount, agreement.Pairs);
        Assert.True(agreement.CosineMin >= EncoderQuantization.GateThreshold, $"cosine min {agreement.CosineMin:F6}");
        Assert.NotEqual(reference, quantized); // it does compute in integers
    }

    [Theory]
    [InlineData("int4", null, "must be 'fp32' or 'int8'")]
    [InlineData("int8", null, "apex.quantized_from")]
    [InlineData("int8", "0123", "apex.quantized_from")]
    public void Bad_precision_metadata_is_refused_with_the_reason(string precision, string? from, string reason)
    {
        var metadata = new Dictionary<string, string> { [EncoderContract.QuantizationKey] = precision };
        if (from is not null)
        {
            metadata[EncoderContract.QuantizedFromKey] = from;
        }

        var error = Assert.Throws<EncoderContractException>(() => EncoderQuantization.Read(metadata, "model.onnx"));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_int8_encoder_outside_the_gate_stands_for_no_fp32_encoder()
    {
        var hash = new string('a', 64);
        Dictionary<string, string> Metadata(string gate, string cosine) => new()
        {
            [EncoderContract.QuantizationKey] = "int8",
            [EncoderContract.QuantizedFromKey] = hash,
            [EncoderContract.GateKey] = gate,
            [EncoderContract.CosineMinKey] = cosine,
        };

        Assert.Equal(hash, EncoderQuantization.Read(Metadata("passed", "0.998"), "m")!.StandsFor);
        Assert.Null(EncoderQuantization.Read(Metadata("failed", "0.994428"), "m")!.StandsFor);
        Assert.Null(EncoderQuantization.Read(Metadata("passed", "0.99"), "m")!.StandsFor);
        Assert.Null(EncoderQuantization.Read(new Dictionary<string, string> { [EncoderContract.QuantizationKey] = "fp32" }, "m"));
        Assert.NotNull(EncoderIdentity.Mismatch(
            EncoderIdentity.Of("fp32.onnx", hash, 4, 768, 24000),
            EncoderIdentity.Of("int8.onnx", new string('b', 64), 4, 768, 24000, standsFor: null)));
    }
}
