using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Apex.Grains.Ingest;

/// <summary>
/// The SQLite log's dedup window in memory: the payload of every logged event still in the window, by a
/// 128-bit hash of its (track, event id), rebuilt from the logged batches at start. A hash instead of
/// the two strings keeps an entry at about 50 bytes; two keys colliding is a 2^-128 event per pair.
/// Written only by the log's single writer.
/// </summary>
internal sealed class DedupIndex
{
    private readonly Dictionary<UInt128, LoggedPayload> _entries = [];

    public int Count => _entries.Count;

    public static UInt128 Key(string trackId, string eventId)
    {
        // The track's length first, so that no two (track, id) pairs hash the same bytes.
        var hash = new XxHash128();
        Span<byte> length = stackalloc byte[4];
        BitConverter.TryWriteBytes(length, trackId.Length);
        hash.Append(length);
        hash.Append(MemoryMarshal.AsBytes(trackId.AsSpan()));
        hash.Append(MemoryMarshal.AsBytes(eventId.AsSpan()));
        return hash.GetCurrentHashAsUInt128();
    }

    public LoggedPayload? Find(string trackId, string eventId) =>
        _entries.TryGetValue(Key(trackId, eventId), out var payload) ? payload : null;

    public void Add(string trackId, string eventId, LoggedPayload payload) => _entries[Key(trackId, eventId)] = payload;

    public void Remove(string trackId, string eventId) => _entries.Remove(Key(trackId, eventId));
}
