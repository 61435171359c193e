using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>POST /events: a batch of streams/likes events, acknowledged once durable.</summary>
public static class EventsApi
{
    public sealed record EventRequest(
        [property: Required, StringLength(Domains.MaxClientId, MinimumLength = 1), Description("The client's id, unique per track: " + "1 to 200 characters, no control characters or bidirectional overrides.")] string? EventId,
        [property: Required, StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern), Description("A registered track.")] string? TrackId,
        [property: Required, AllowedValues("stream", "like"), Description("stream or like.")] string? Kind,
        [property: Range(1, 1_000_000), Description("How many (default 1).")] long? Count = null,
        [property: Description("When it happened (its bucket in the track's timeline): " + Domains.TimeRule + "; an event more than Apex:EventClockSkewMinutes (5) ahead of the server's clock is rejected on its own. Default: when received.")] DateTimeOffset? Ts = null);

    public sealed record EventsRequest(
        [property: Required, Description("1 to Apex:MaxEventsPerBatch (10,000) events.")] IReadOnlyList<EventRequest?>? Events);

    public sealed record Rejection(int Index, string EventId, string TrackId, string Reason);

    public sealed record Conflict(int Index, string EventId, string TrackId);

    /// <summary>Per-event outcomes: accepted, duplicate (the same payload as logged), conflict (the id was logged with another payload: not counted), rejected (with the reason).</summary>
    public sealed record EventsResponse(int Accepted, int Duplicate, int Conflict, int Rejected, IReadOnlyList<Rejection> Rejections, IReadOnlyList<Conflict> Conflicts);

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/events", IngestAsync)
            .WithName("IngestEvents")
            .WithSummary("Log a batch of streams/likes events; answers after it is durable, with per-event outcomes: accepted, duplicate (an event_id already logged for its track with the same kind, count and ts), conflict (already logged with another payload: not counted, listed), rejected (unknown track).")
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

        var now = time.GetUtcNow();
        var skew = TimeSpan.FromMinutes(options.Value.EventClockSkewMinutes);
        var batch = new List<EngagementEvent>(events.Count);
        var positions = new List<int>(events.Count); // each logged event's index in the request
        var early = new List<Rejection>();
        for (var i = 0; i < events.Count && errors.Count < 20; i++)
        {
            if (events[i] is not { } e)
            {
                errors[$"events[{i}]"] = ["an event object is required"];
                continue;
            }

            var kind = e.Kind switch { "stream" => EventKind.Stream, "like" => EventKind.Like, _ => (EventKind?)null };
            var problem =
                !Domains.IsClientId(e.EventId, Domains.MaxClientId) ? $"event_id is required: {Domains.ClientIdRule(Domains.MaxClientId)}" :
                !Domains.IsName(e.TrackId, Domains.MaxTrackId) ? $"track_id is required: {Domains.NameRule(Domains.MaxTrackId)}" :
                kind is null ? "kind must be 'stream' or 'like'" :
                e.Count is < 1 or > 1_000_000 ? "count must be between 1 and 1,000,000 (default 1)" :
                e.Ts is { } ts && !Domains.IsPlausibleTime(ts, now) ? $"ts, when given, must be {Domains.TimeRule}" :
                null;
            if (problem is not null)
            {
                errors[$"events[{i}]"] = [problem];
                continue;
            }

            if (e.Ts > now + skew)
            {
                early.Add(new Rejection(i, e.EventId!, e.TrackId!, $"ts is more than {options.Value.EventClockSkewMinutes} minutes ahead of the server's clock ({now:O}): send it when it has happened"));
                continue;
            }

            batch.Add(new EngagementEvent(e.EventId!, e.TrackId!, kind!.Value, e.Count ?? 1, e.Ts ?? now, TimestampGiven: e.Ts is not null));
            positions.Add(i);
        }

        // Nothing is logged unless the whole batch is well-formed.
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The event batch is invalid; nothing was logged.");
        }

        var result = batch.Count > 0 ? await ingestor.IngestAsync(batch, cancellationToken) : new IngestResult([], [], []);
        metrics.RecordAck(time.GetElapsedTime(received));
        var rejections = result.Outcomes
            .Select((o, i) => (o, i))
            .Where(p => p.o == IngestOutcome.UnknownTrack)
            .Select(p => new Rejection(positions[p.i], batch[p.i].EventId, batch[p.i].TrackId, "unknown track: register it first"))
            .Concat(early)
            .OrderBy(r => r.Index)
            .ToList();
        var conflicts = result.Outcomes
            .Select((o, i) => (o, i))
            .Where(p => p.o == IngestOutcome.Conflict)
            .Select(p => new Conflict(positions[p.i], batch[p.i].EventId, batch[p.i].TrackId))
            .ToList();
        return TypedResults.Ok(new EventsResponse(
            result.Outcomes.Count(o => o == IngestOutcome.Accepted),
            result.Outcomes.Count(o => o == IngestOutcome.Duplicate),
            conflicts.Count,
            rejections.Count,
            rejections,
            conflicts));
    }
}
