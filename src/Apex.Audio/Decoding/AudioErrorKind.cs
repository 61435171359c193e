namespace Apex.Audio.Decoding;

/// <summary>Why an input could not be decoded; each has its own message for the user.</summary>
public enum AudioErrorKind
{
    FileNotFound,
    Empty,
    NotAudio,
    NoAudioStream,
    Corrupt,
    TooLong,
    InvalidClip,
    FfmpegMissing,
    TimedOut,
}
