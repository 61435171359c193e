using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Apex.Grains;
using Apex.Grains.Events;
using Apex.Grains.Ingest;
using Apex.Grains.Populations;
using Apex.Scoring;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>
/// POST /tracks/batch: a platform's catalogue onboarded in bulk. Registrations are written in one
/// transaction (no grain state per track), initial counts enter as events (so they dedupe and reach the
/// populations as events do), and tracks wait for the backfill to score them after live ones.
/// </summary>
public static class CatalogueApi
{
    public const int MaxTracksPerBatch = 10_000;
    public const long MaxInitialCount = 1_000_000_000_000;

    public const string InitialStreamsEventId = CatalogueEntry.InitialStreamsEventId;
    public const string InitialLikesEventId = CatalogueEntry.InitialLikesEventId;

    public sealed record CatalogueTrack(
        [property: Required, StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern)] string? TrackId,
        [property: Required, StringLength(Domains.MaxPlatform, MinimumLength = 1), RegularExpression(Domains.NamePattern)] string? Platform,
        [property: Required, Description(Domains.TimeRule)] DateTimeOffset? CreatedAt,
        [property: Required, StringLength(4096, MinimumLength = 1), Description("A path relative to the media root: a regular, non-empty file inside it (checked now; decoded when the backfill scores it).")] string? AudioPath,
        bool? Instrumental = null,
        [property: StringLength(Domains.MaxSystem, MinimumLength = 1), Description("Optional: the generating system, as for POST /tracks.")] string? System = null,
        [property: StringLength(Domains.MaxPrompt, MinimumLength = 1), Description("Optional: the prompt, as for POST /tracks.")] string? Prompt = null,
        [property: Range(0, MaxInitialCount), Description("Optional: streams so far (0 to 10^12), as of counts_at.")] long? Streams = null,
        [property: Range(0, MaxInitialCount), Description("Optional: likes so far (0 to 10^12), as of counts_at.")] long? Likes = null,
        [property: Description("When the initial counts were taken: " + Domains.TimeRule + "; default: when received.")] DateTimeOffset? CountsAt = null);

    public sealed record CatalogueRequest([property: Required, Description("1 to 10,000 tracks.")] IReadOnlyList<CatalogueTrack?>? Tracks);

    /// <summary>One track's outcome: created, same (registered with these details, counts included), conflict or rejected, with the reason.</summary>
    public sealed record CatalogueItem(int Index, string? TrackId, string Outcome, string? Reason = null);

    public sealed record CatalogueResponse(int Created, int Same, int Conflict, int Rejected, IReadOnlyList<CatalogueItem> Items);

    public static IEndpointRouteBuilder MapCatalogueApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/tracks/batch", RegisterAsync)
            .WithName("RegisterTracks")
            .WithSummary("Register up to 10,000 tracks at once, with optional initial counts; durable before the answer, idempotent, one outcome per track: created, same, conflict, rejected (with the reason).")
            .WithTags("tracks")
            .RequireAuthorization(Roles.Ingest);
        var backfill = app.MapGroup("/backfill").WithTags("tracks");
        backfill.MapGet("/", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<IBackfillGrain>(0).GetAsync()))
            .WithName("GetBackfill").WithSummary("The catalogue backfill: tracks queued, the oldest one's registration time, admitted, in flight, paused.").RequireAuthorization(Roles.Reader);
        backfill.MapPost("/pause", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<IBackfillGrain>(0).PauseAsync()))
            .WithName("PauseBackfill").WithSummary("Stop admitting catalogued tracks to scoring (admitted ones finish); lasts across restarts.").RequireAuthorization(Roles.Admin);
        backfill.MapPost("/resume", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<IBackfillGrain>(0).ResumeAsync()))
            .WithName("ResumeBackfill").WithSummary("Admit catalogued tracks to scoring again.").RequireAuthorization(Roles.Admin);
        return app;
    }

    private static async Task<Results<Ok<CatalogueResponse>, ValidationProblem>> RegisterAsync(
        CatalogueRequest request, IIngestLog log, EventIngestor ingestor, PopulationHandoff handoff, IngestMetrics metrics, IGrainFactory grains, MediaLocations media, IOptions<ApexOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var tracks = request.Tracks ?? [];
        if (tracks.Count is 0 or > MaxTracksPerBatch)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["tracks"] = [$"Send between 1 and {MaxTracksPerBatch:N0} tracks."] }, title: "The track batch is invalid; nothing was registered.");
        }

        var now = time.GetUtcNow();
        var items = new CatalogueItem[tracks.Count];
        var valid = new List<(int Index, CatalogueEntry Entry)>(tracks.Count);
        var folders = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < tracks.Count; i++)
        {
            if (Check(tracks[i], options.Value, media, now, out var audio, folders) is { } reason)
            {
                items[i] = new CatalogueItem(i, tracks[i]?.TrackId, "rejected", reason);
                continue;
            }

            var t = tracks[i]!;
            var registration = new Grains.TrackRegistration(t.Platform!, t.CreatedAt!.Value, audio!, t.Instrumental, t.System?.Trim(), t.Prompt);
            valid.Add((i, new CatalogueEntry(t.TrackId!, registration) { Initial = InitialCounts(t, now) }));
        }

        // New tracks get their counts in the registration's own commit; only a re-sent track's counts take
        // the event path, where the logged ones make them a duplicate (same counts) or a conflict.
        var registered = valid.Count > 0 ? await log.RegisterCatalogueAsync([.. valid.Select(v => v.Entry)], now, cancellationToken) : new CatalogueResult([], []);
        var resent = new List<(int Item, EngagementEvent Event)>();
        for (var v = 0; v < valid.Count; v++)
        {
            var (index, entry) = valid[v];
            var outcome = registered.Outcomes[v];
            items[index] = new CatalogueItem(index, entry.TrackId, outcome switch
            {
                CatalogueOutcome.Created => "created",
                CatalogueOutcome.Same => "same",
                CatalogueOutcome.Conflict => "conflict",
                _ => throw new InvalidOperationException($"Unnamed catalogue outcome {outcome}."),
            }, outcome == CatalogueOutcome.Conflict ? "Already registered with other details; nothing changed." : null);
            if (outcome == CatalogueOutcome.Same)
            {
                resent.AddRange(entry.Initial.Select(e => (index, e)));
            }
        }

        if (registered.Outcomes.Contains(CatalogueOutcome.Created))
        {
            await grains.GetGrain<IBackfillGrain>(0).WakeAsync();
        }

        if (registered.Created.Count > 0)
        {
            metrics.RecordInitialCounts(registered.Created.Sum(t => t.LastSeq));
            await handoff.HandAsync(registered.Created, cancellationToken);
        }

        if (resent.Count > 0)
        {
            var logged = await ingestor.IngestAsync([.. resent.Select(c => c.Event)], cancellationToken);
            for (var c = 0; c < resent.Count; c++)
            {
                if (logged.Outcomes[c] == IngestOutcome.Conflict)
                {
                    var index = resent[c].Item;
                    items[index] = items[index] with { Outcome = "conflict", Reason = "Registered before with other initial counts; the first ones stand." };
                }
            }
        }

        return TypedResults.Ok(new CatalogueResponse(
            items.Count(i => i.Outcome == "created"), items.Count(i => i.Outcome == "same"), items.Count(i => i.Outcome == "conflict"), items.Count(i => i.Outcome == "rejected"), items));
    }

    /// <summary>A track's counts so far as its first events; their ids are fixed, so a re-sent row dedupes.</summary>
    private static List<EngagementEvent> InitialCounts(CatalogueTrack track, DateTimeOffset now)
    {
        var at = track.CountsAt ?? now;
        var events = new List<EngagementEvent>(2);
        if (track.Streams is > 0 and var streams)
        {
            events.Add(new EngagementEvent(InitialStreamsEventId, track.TrackId!, EventKind.Stream, streams, at, TimestampGiven: track.CountsAt is not null));
        }

        if (track.Likes is > 0 and var likes)
        {
            events.Add(new EngagementEvent(InitialLikesEventId, track.TrackId!, EventKind.Like, likes, at, TimestampGiven: track.CountsAt is not null));
        }

        return events;
    }

    private static TracksApi.RegisterTrackRequest Request(CatalogueTrack track) =>
        new(track.TrackId, track.Platform, track.CreatedAt, track.AudioPath, track.Instrumental, track.System, track.Prompt);

    /// <summary>The first rule a track breaks, named by its field, or null. No probe here: a catalogue is checked by stat, and decoded when scored.</summary>
    private static string? Check(CatalogueTrack? track, ApexOptions options, MediaLocations media, DateTimeOffset now, out string? audio, Dictionary<string, string> folders)
    {
        audio = null;
        if (track is null)
        {
            return "null: send a track object.";
        }

        var errors = TracksApi.Validate(Request(track), options, media.UploadsFolder, now, out audio, folders);
        if (errors.Count > 0)
        {
            var (field, reasons) = errors.First();
            return $"{field}: {reasons[0]}";
        }

        if (track.Streams is < 0 or > MaxInitialCount || track.Likes is < 0 or > MaxInitialCount)
        {
            return "streams, likes: when given, 0 to 10^12.";
        }

        return track.CountsAt is { } at && !Domains.IsPlausibleTime(at, now) ? $"counts_at: when given, {Domains.TimeRule}." : null;
    }
}
