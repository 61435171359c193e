using System.Text;
using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>An event as a logged batch holds it.</summary>
public readonly record struct StoredEvent(string TrackId, string EventId, long TrackSeq, EventKind Kind, long Count, long UtcTicks)
{
    public LoggedPayload Payload => new(Kind, Count, UtcTicks);
}

/// <summary>
/// The body of one logged batch on SQLite: its accepted events packed in one value, so that a commit
/// writes one row however many events it accepts. A fixed six-field layout with a version byte
/// (BinaryWriter's length-prefixed strings and 7-bit integers) needs no serializer library.
/// </summary>
public static class PackedEvents
{
    private const byte Version = 1;

    public static byte[] Pack(IReadOnlyList<NumberedEvent> events) => Pack(events.Select(n =>
        new StoredEvent(n.Event.TrackId, n.Event.EventId, n.TrackSeq, n.Event.Kind, n.Event.Count, n.Event.Timestamp.UtcTicks)).ToList());

    public static byte[] Pack(IReadOnlyList<StoredEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var stream = new MemoryStream(16 + (events.Count * 48));
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write7BitEncodedInt(events.Count);
            foreach (var e in events)
            {
                writer.Write(e.TrackId);
                writer.Write(e.EventId);
                writer.Write7BitEncodedInt64(e.TrackSeq);
                writer.Write((byte)e.Kind);
                writer.Write7BitEncodedInt64(e.Count);
                writer.Write(e.UtcTicks);
            }
        }

        return stream.ToArray();
    }

    public static List<StoredEvent> Unpack(byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var reader = new BinaryReader(new MemoryStream(body, writable: false), Encoding.UTF8);
        var version = reader.ReadByte();
        if (version != Version)
        {
            throw new InvalidDataException($"A logged batch has format version {version}; this build reads version {Version}.");
        }

        var count = reader.Read7BitEncodedInt();
        var events = new List<StoredEvent>(count);
        for (var i = 0; i < count; i++)
        {
            events.Add(new StoredEvent(reader.ReadString(), reader.ReadString(), reader.Read7BitEncodedInt64(), (EventKind)reader.ReadByte(), reader.Read7BitEncodedInt64(), reader.ReadInt64()));
        }

        return events;
    }
}
