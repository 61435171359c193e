using Apex.Grains.Ingest;
using Apex.Grains.Timelines;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>
/// GET /tracks/{id}/timeline: a track's engagement per hour or per day, by event time, every bucket of
/// the range given (zero where nothing happened), from the curves the ingest log rolls up.
/// </summary>
public static class TimelineApi
{
    /// <summary>The most buckets one answer holds (e.g. 83 days of hours, 5 years of days).</summary>
    public const int MaxPoints = 2_000;

    public sealed record TimelineResponse(string TrackId, string Kind, string Bucket, DateTimeOffset From, DateTimeOffset To, int RetentionDays, long Total, IReadOnlyList<TimelineCount> Points);

    public sealed record TimelineCount(DateTimeOffset Start, long Count);

    public static IEndpointRouteBuilder MapTimelineApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/tracks/{id}/timeline", GetAsync)
            .WithName("GetTrackTimeline")
            .WithSummary("A track's streams or likes per hour or per day, by event time (kind=streams|likes, bucket=hour|day, from, to; default: the last 48 hours by hour). Buckets older than their retention (hourly 14 days, daily 730 by default) are not kept.")
            .WithTags("tracks")
            .RequireAuthorization(Roles.Reader);
        return app;
    }

    private static async Task<Results<Ok<TimelineResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
        string id, IIngestLog log, IOptions<ApexOptions> options, TimeProvider time, CancellationToken cancellationToken,
        string kind = "streams", string? bucket = null, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var now = time.GetUtcNow();
        var errors = new Dictionary<string, string[]>();
        if (!Domains.IsName(id, Domains.MaxTrackId))
        {
            errors["id"] = [$"{Domains.NameRule(Domains.MaxTrackId)}."];
        }

        if (kind is not ("streams" or "likes"))
        {
            errors["kind"] = ["streams or likes."];
        }

        var retention = log.Retention;
        // Unnamed, the width follows the range: hours while it lies within the hourly window, days before.
        BucketWidth? width = bucket switch
        {
            "hour" => BucketWidth.Hour,
            "day" => BucketWidth.Day,
            null => from is { } f && f < now - retention.Hourly ? BucketWidth.Day : BucketWidth.Hour,
            _ => null,
        };
        if (width is null)
        {
            errors["bucket"] = ["hour or day."];
        }

        var until = to ?? now;
        var since = from ?? until - (width == BucketWidth.Day ? TimeSpan.FromDays(90) : TimeSpan.FromHours(48));
        foreach (var (name, value) in new[] { ("from", since), ("to", until) })
        {
            if (!Domains.IsPlausibleTime(value, now))
            {
                errors[name] = [$"When given: {Domains.TimeRule}."];
            }
        }

        if (errors.Count == 0 && since >= until)
        {
            errors["from"] = ["Before to."];
        }

        var seconds = (long)(width ?? BucketWidth.Hour);
        var first = Bucket.StartOf(width ?? BucketWidth.Hour, since.ToUnixTimeSeconds());
        var count = errors.Count == 0 ? (until.ToUnixTimeSeconds() - first + seconds - 1) / seconds : 0;
        if (count > MaxPoints)
        {
            errors["from"] = [$"At most {MaxPoints:N0} buckets per answer ({count:N0} asked): a shorter range, or bucket=day."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The timeline query is invalid.");
        }

        if (await log.ReadTotalsAsync(id, cancellationToken) is null)
        {
            return TypedResults.Problem(title: "Track not found.", detail: $"No track '{id}' is registered.", statusCode: StatusCodes.Status404NotFound);
        }

        var stored = (await log.ReadTimelineAsync(id, width!.Value, DateTimeOffset.FromUnixTimeSeconds(first), until, cancellationToken))
            .ToDictionary(p => p.Start.ToUnixTimeSeconds());
        var points = new List<TimelineCount>((int)count);
        for (var start = first; start < until.ToUnixTimeSeconds(); start += seconds)
        {
            var point = stored.GetValueOrDefault(start);
            points.Add(new TimelineCount(DateTimeOffset.FromUnixTimeSeconds(start), point is null ? 0 : kind == "likes" ? point.Likes : point.Streams));
        }

        return TypedResults.Ok(new TimelineResponse(id, kind, width == BucketWidth.Day ? "day" : "hour", DateTimeOffset.FromUnixTimeSeconds(first), until,
            (int)Math.Round(retention.Of(width.Value).TotalDays, MidpointRounding.AwayFromZero), points.Sum(p => p.Count), points));
    }
}
