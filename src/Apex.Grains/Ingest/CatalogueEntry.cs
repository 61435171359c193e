using System.Text.Json;
using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>One track of a bulk registration: its id, its whole registration, and its counts so far.</summary>
public sealed record CatalogueEntry(string TrackId, TrackRegistration Registration)
{
    // The initial counts' event ids: one per kind, so a re-sent batch is a duplicate and other counts a conflict.
    public const string InitialStreamsEventId = "catalogue:initial-streams";
    public const string InitialLikesEventId = "catalogue:initial-likes";

    /// <summary>True for an event that carries a catalogue's counts so far (history, not activity at its time).</summary>
    public static bool IsInitialCount(string eventId) => eventId is InitialStreamsEventId or InitialLikesEventId;

    /// <summary>
    /// The track's counts so far, as events of its own: logged in the registration's transaction, numbered
    /// 1, 2, … when the call creates the track. For a track registered before, the caller sends them through
    /// the event path, where the logged ones make them a duplicate or a conflict.
    /// </summary>
    public IReadOnlyList<EngagementEvent> Initial { get; init; } = [];

    /// <summary>The registration as the catalogue stores it (JSON; read back by <see cref="Read"/>).</summary>
    public string Stored() => JsonSerializer.Serialize(Registration);

    /// <summary>A registration as <see cref="Stored"/> writes it, into a JSON document being written.</summary>
    public static void Write(Utf8JsonWriter writer, TrackRegistration registration) => JsonSerializer.Serialize(writer, registration);

    public static TrackRegistration Read(string stored) =>
        JsonSerializer.Deserialize<TrackRegistration>(stored) ?? throw new InvalidDataException("An empty catalogue registration.");

    /// <summary>The initial events numbered from 1 and the totals they give a new track.</summary>
    public (IReadOnlyList<NumberedEvent> Events, TrackTotals Totals) Numbered()
    {
        var totals = new TrackTotals(TrackId, Registration.Platform, 0, 0, 0, Registration.CreatedAt);
        var events = new NumberedEvent[Initial.Count];
        for (var i = 0; i < events.Length; i++)
        {
            var e = Initial[i];
            if (e.TrackId != TrackId)
            {
                throw new ArgumentException($"An initial event of {TrackId} names {e.TrackId}.", nameof(Initial));
            }

            totals = BatchClassifier.Advance(totals, e.Kind, e.Count, i + 1);
            events[i] = new NumberedEvent(e, i + 1);
        }

        return (events, totals);
    }
}

/// <summary>A bulk registration's outcome per entry, and the totals of the tracks it created, with their counts or zero (for their populations).</summary>
public sealed record CatalogueResult(IReadOnlyList<CatalogueOutcome> Outcomes, IReadOnlyList<TrackTotals> Created);
