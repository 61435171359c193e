using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Apex.Audio.Decoding;
using Apex.Embedding.Encoding;

namespace Apex.Embedding;

/// <summary>Decodes and encodes files: the whole path from an audio file to its embedding.</summary>
public sealed class AudioEmbedder(IAudioDecoder decoder, IAudioEncoder encoder)
{
    public IAudioEncoder Encoder => encoder;

    public async Task<AudioEmbedding> EmbedAsync(EmbedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var audio = await decoder.DecodeAsync(request.Path, request.Clip, cancellationToken);
        return Encode(audio, cancellationToken);
    }

    /// <summary>
    /// Embeds many files in input order, decoding up to <paramref name="decodeAhead"/> files while the
    /// encoder works, so the encoder never waits on ffmpeg. A file that fails yields its reason; the rest go on.
    /// </summary>
    public async IAsyncEnumerable<EmbedResult> EmbedManyAsync(
        IEnumerable<EmbedRequest> requests,
        int decodeAhead = 2,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var decoded = Channel.CreateBounded<(EmbedRequest Request, Task<DecodedAudio> Audio)>(Math.Max(1, decodeAhead));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => DecodeInOrderAsync(requests, decoded.Writer, stop.Token), CancellationToken.None);
        try
        {
            await foreach (var (request, audio) in decoded.Reader.ReadAllAsync(cancellationToken))
            {
                EmbedResult result;
                try
                {
                    result = new EmbedResult(request, Encode(await audio, cancellationToken), null);
                }
                catch (AudioDecodeException ex)
                {
                    result = new EmbedResult(request, null, ex.Message);
                }

                yield return result;
            }
        }
        finally
        {
            // A caller that stops early must not leave the producer blocked on a full channel.
            await stop.CancelAsync();
            await producer.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        await producer;
    }

    private async Task DecodeInOrderAsync(IEnumerable<EmbedRequest> requests, ChannelWriter<(EmbedRequest, Task<DecodedAudio>)> writer, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var request in requests)
            {
                var audio = decoder.DecodeAsync(request.Path, request.Clip, cancellationToken);
                await writer.WriteAsync((request, audio), cancellationToken);
                // One decode at a time: ffmpeg works beside the encoder instead of competing with it for every core.
                await audio.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
        }
        finally
        {
            writer.Complete();
        }
    }

    private AudioEmbedding Encode(DecodedAudio audio, CancellationToken cancellationToken)
    {
        var info = encoder.Info;
        if (audio.SampleRate != info.SampleRate)
        {
            throw new InvalidOperationException($"Audio decoded at {audio.SampleRate} Hz but the encoder expects {info.SampleRate} Hz.");
        }

        var values = encoder.Encode(audio.Segments, cancellationToken);
        return new AudioEmbedding(audio.Path, audio.DurationSeconds, audio.Segments.Count, info.Layers, info.HiddenSize, values);
    }
}
