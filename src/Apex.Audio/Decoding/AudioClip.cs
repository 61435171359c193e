namespace Apex.Audio.Decoding;

/// <summary>A part of a file to decode; null bounds mean the start or the end of the file.</summary>
public sealed record AudioClip(double? StartSeconds, double? EndSeconds)
{
    public static readonly AudioClip Whole = new(null, null);

    public bool IsWhole => StartSeconds is null && EndSeconds is null;

    public double Start => StartSeconds ?? 0;
}
