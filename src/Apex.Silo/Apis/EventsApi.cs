using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>POST /events: a batch of streams/likes events, acknowledged once durable.</summary>
public static class EventsApi
{
    public sealed record EventRequest(string? EventId, string? TrackId, string? Kind, long? Count, DateTimeOffset? Ts);

    public sealed record EventsRequest(IReadOnlyList<EventRequest>? Events);

    public sealed record Rejection(int Index, string EventId, string TrackId, string Reason);

    public sealed record EventsResponse(int Accepted, int Duplicate, int Rejected, IReadOnlyList<Rejection> Rejections);

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/events", IngestAsync)
            .WithName("IngestEvents")
            .WithSummary("Log a batch of streams/likes events; answers after it is durable, with per-event outcomes.")
            .WithTags("events")
            .RequireAuthorization(Roles.Ingest);
        return app;
    }

    private static async Task<Results<Ok<EventsResponse>, ValidationProblem>> IngestAsync(EventsRequest request, EventIngestor ingestor, IngestMetrics metrics, IOptions<ApexOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var received = time.GetTimestamp();
        var errors = new Dictionary<string, string[]>();
        var events = request.Events ?? [];
        if (events.Count == 0 || events.Count > options.Value.MaxEventsPerBatch)
        {
            errors["events"] = [$"Send between 1 and {options.Value.MaxEventsPerBatch} events."];
        }

        var batch = new List<EngagementEvent>(events.Count);
        for (var i = 0; i < events.Count && errors.Count < 20; i++)
        {
            var e = events[i];
            var kind = e.Kind switch { "stream" => EventKind.Stream, "like" => EventKind.Like, _ => (EventKind?)null };
            var problem =
                string.IsNullOrWhiteSpace(e.EventId) || e.EventId.Length > 200 ? "event_id is required (at most 200 characters)" :
                string.IsNullOrWhiteSpace(e.TrackId) ? "track_id is required" :
                kind is null ? "kind must be 'stream' or 'like'" :
                e.Count is < 1 or > 1_000_000 ? "count must be between 1 and 1,000,000 (default 1)" :
                null;
            if (problem is not null)
            {
                errors[$"events[{i}]"] = [problem];
                continue;
            }

            batch.Add(new EngagementEvent(e.EventId!, e.TrackId!, kind!.Value, e.Count ?? 1, e.Ts ?? time.GetUtcNow()));
        }

        // Nothing is logged unless the whole batch is well-formed.
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The event batch is invalid; nothing was logged.");
        }

        var result = await ingestor.IngestAsync(batch, cancellationToken);
        metrics.RecordAck(time.GetElapsedTime(received));
        var rejections = result.Outcomes
            .Select((o, i) => (o, i))
            .Where(p => p.o == IngestOutcome.UnknownTrack)
            .Select(p => new Rejection(p.i, batch[p.i].EventId, batch[p.i].TrackId, "unknown track: register it first"))
            .ToList();
        return TypedResults.Ok(new EventsResponse(
            result.Outcomes.Count(o => o == IngestOutcome.Accepted),
            result.Outcomes.Count(o => o == IngestOutcome.Duplicate),
            rejections.Count,
            rejections));
    }
}
