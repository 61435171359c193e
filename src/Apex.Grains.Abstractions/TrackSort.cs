namespace Apex.Grains;

/// <summary>The orders a platform's tracks are listed in.</summary>
public enum TrackSort
{
    Streams,
    Likes,
    Newest,
}
