using Apex.Embedding.Encoding;

namespace Apex.Embedding.Tests;

public sealed class EncoderContractTests
{
    [Fact]
    public void Reads_layers_hidden_size_and_rate_from_the_model_metadata()
    {
        using var encoder = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = EncoderDevice.Cpu });

        Assert.Equal([3, 6, 9, 12], encoder.Info.Layers);
        Assert.Equal(32, encoder.Info.HiddenSize);
        Assert.Equal(24_000, encoder.Info.SampleRate);
        Assert.True(encoder.Info.Normalize);
        Assert.Contains("random-init", encoder.Info.Source, StringComparison.Ordinal);
        Assert.Equal("CPU", encoder.Info.Provider);
        // Batch 1 is the fastest per segment on CPU (benchmarks/RESULTS.md), so it is the CPU default.
        Assert.Equal(1, encoder.MaxBatch);
    }

    [Fact]
    public void A_model_honouring_the_contract_with_other_sizes_is_accepted()
    {
        using var encoder = new OnnxAudioEncoder(Fixtures.ContractCase("valid.onnx"), new EncoderOptions { Device = EncoderDevice.Cpu });

        var output = encoder.Encode([Enumerable.Range(0, 100).Select(i => (float)i).ToArray()]);

        Assert.Equal(4 * 8, encoder.Info.SegmentWidth);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (float)i), output);
    }

    [Theory]
    [InlineData("no-layers-metadata.onnx", "apex.layers")]
    [InlineData("no-hidden-metadata.onnx", "apex.hidden_size")]
    [InlineData("bad-layers-metadata.onnx", "three,six")]
    [InlineData("hidden-mismatch.onnx", "metadata says 768")]
    [InlineData("wrong-output-name.onnx", "no output named 'layer_means'")]
    [InlineData("wrong-input-name.onnx", "no input named 'input_values'")]
    [InlineData("int-input.onnx", "must be a float32 tensor")]
    public void A_model_breaking_the_contract_is_refused_with_the_reason(string file, string reason)
    {
        var error = Assert.Throws<EncoderContractException>(() => new OnnxAudioEncoder(Fixtures.ContractCase(file), new EncoderOptions { Device = EncoderDevice.Cpu }));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_shape_that_contradicts_the_metadata_is_caught_on_the_first_run()
    {
        using var encoder = new OnnxAudioEncoder(Fixtures.ContractCase("runtime-shape-mismatch.onnx"), new EncoderOptions { Device = EncoderDevice.Cpu });

        var error = Assert.Throws<EncoderContractException>(() => encoder.Encode([new float[100]]));
        Assert.Contains("expected [1, 4, 16]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_an_onnx_model_is_refused()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a model");
            var error = Assert.Throws<EncoderContractException>(() => new OnnxAudioEncoder(path));
            Assert.Contains("cannot load", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_missing_model_file_is_reported() =>
        Assert.Throws<FileNotFoundException>(() => new OnnxAudioEncoder("/nonexistent/model.onnx"));

    [Theory]
    [InlineData(EncoderDevice.Auto)]
    [InlineData(EncoderDevice.Cuda)]
    public void Without_cuda_the_encoder_falls_back_to_cpu_and_says_so(EncoderDevice device)
    {
        var logger = new ListLogger<OnnxAudioEncoder>();

        using var encoder = new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { Device = device }, logger);

        // This build carries the CPU package only, so CUDA cannot load: the fallback must be logged.
        Assert.Equal("CPU", encoder.Info.Provider);
        Assert.Contains(logger.Messages, m => m.Contains("CUDA is not available", StringComparison.Ordinal));
        Assert.Contains(logger.Messages, m => m.Contains("on CPU", StringComparison.Ordinal));
    }

    [Fact]
    public void An_invalid_batch_size_is_refused() =>
        Assert.Throws<ArgumentException>(() => new OnnxAudioEncoder(Fixtures.TinyMert, new EncoderOptions { MaxBatch = 0 }));
}
