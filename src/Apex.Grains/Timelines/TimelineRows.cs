using System.Data.Common;

namespace Apex.Grains.Timelines;

/// <summary>Curve rows as both logs read them back (start in Unix seconds, then the counts).</summary>
public static class TimelineRows
{
    /// <summary>Rows of start, streams, likes.</summary>
    public static async Task<IReadOnlyList<TimelinePoint>> ReadPointsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var points = new List<TimelinePoint>();
        while (await reader.ReadAsync(cancellationToken))
        {
            points.Add(new TimelinePoint(DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(0)), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return points;
    }

    /// <summary>Rows of track_id, start, streams, likes.</summary>
    public static async Task<IReadOnlyList<TrackPoint>> ReadTrackPointsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var points = new List<TrackPoint>();
        while (await reader.ReadAsync(cancellationToken))
        {
            points.Add(new TrackPoint(reader.GetString(0), DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(1)), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return points;
    }
}
