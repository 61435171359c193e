namespace Apex.Audio.Decoding;

/// <summary>Turns an audio file (any format ffmpeg reads) into mono segments at the configured rate.</summary>
public interface IAudioDecoder
{
    /// <exception cref="AudioDecodeException">The input cannot be decoded; <see cref="AudioDecodeException.Kind"/> says why.</exception>
    Task<DecodedAudio> DecodeAsync(string path, AudioClip? clip = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks without decoding that the file is audio this decoder takes: readable, with an audio
    /// stream, not longer than the limit. Answers its declared duration in seconds (null when the
    /// container does not say).
    /// </summary>
    /// <exception cref="AudioDecodeException">The file would not decode; <see cref="AudioDecodeException.Kind"/> says why.</exception>
    Task<double?> ProbeAsync(string path, CancellationToken cancellationToken = default);
}
