namespace Apex.Grains.Timelines;

/// <summary>A timeline bucket's width, in seconds (how it is stored).</summary>
public enum BucketWidth
{
    Hour = 3_600,
    Day = 86_400,
}
