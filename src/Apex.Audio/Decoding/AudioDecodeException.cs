namespace Apex.Audio.Decoding;

/// <summary>An input that cannot be turned into segments, with the reason in words.</summary>
public sealed class AudioDecodeException : Exception
{
    public AudioDecodeException(AudioErrorKind kind, string path, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Path = path;
    }

    public AudioDecodeException()
        : this(AudioErrorKind.NotAudio, string.Empty, "The audio could not be decoded.")
    {
    }

    public AudioDecodeException(string message)
        : this(AudioErrorKind.NotAudio, string.Empty, message)
    {
    }

    public AudioDecodeException(string message, Exception inner)
        : this(AudioErrorKind.NotAudio, string.Empty, message, inner)
    {
    }

    public AudioErrorKind Kind { get; }

    public string Path { get; }
}
