namespace Apex.Audio.Decoding;

/// <summary>Turns an audio file (any format ffmpeg reads) into mono segments at the configured rate.</summary>
public interface IAudioDecoder
{
    /// <exception cref="AudioDecodeException">The input cannot be decoded; <see cref="AudioDecodeException.Kind"/> says why.</exception>
    Task<DecodedAudio> DecodeAsync(string path, AudioClip? clip = null, CancellationToken cancellationToken = default);
}
