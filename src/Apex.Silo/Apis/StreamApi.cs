using System.Globalization;
using Apex.Grains.Signals;
using Apex.Silo.Auth;

namespace Apex.Silo.Apis;

/// <summary>
/// GET /stream: the signal feed as Server-Sent Events (breakout, scored, model_promoted, calibration_drift), for dashboards
/// and the console. Each event's id is its number in the feed; a client that reconnects with
/// Last-Event-ID gets every event after it, so nothing is missed across a dropped connection or a
/// silo restart. Read from the database (any silo serves any client), polled once a second.
/// </summary>
public static class StreamApi
{
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    /// <summary>A comment line this often keeps proxies from closing an idle stream.</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>How often a stream checks that its key is still active.</summary>
    public static readonly TimeSpan KeyCheck = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapStreamApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/stream", StreamAsync)
            .WithName("SignalStream")
            .WithSummary("Server-Sent Events of the signal feed (types=breakout,scored,model_promoted,calibration_drift; platform=… keeps one platform's): new events from now, or every event after the Last-Event-ID header (or last_event_id) when given.")
            .WithTags("signals")
            // The console's pages follow it with their session cookie; API clients send a key.
            .RequireAuthorization(Hosting.SiloHostExtensions.ReaderByKeyOrSession);
        return app;
    }

    private static async Task<IResult> StreamAsync(HttpContext http, SignalFeed feed, ApiKeyStore keys, TimeProvider time, IHostApplicationLifetime lifetime, CancellationToken requestAborted, string? platform = null, string? types = null,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "last_event_id")] long? lastEventId = null)
    {
        var errors = new Dictionary<string, string[]>();
        if (platform is not null && !Domains.IsName(platform, Domains.MaxPlatform))
        {
            errors["platform"] = [$"When given: {Domains.NameRule(Domains.MaxPlatform)}."];
        }

        var wanted = types?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wanted is not null && (wanted.Length == 0 || wanted.Any(t => !SignalEvent.Types.Contains(t))))
        {
            errors["types"] = [$"When given: one or more of {string.Join(", ", SignalEvent.Types)}, comma-separated."];
        }

        long? resumeAfter = lastEventId;
        if (http.Request.Headers["Last-Event-ID"] is { Count: > 0 } header)
        {
            resumeAfter = long.TryParse(header.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1;
        }

        if (resumeAfter < 0)
        {
            errors["last_event_id"] = ["When given (or Last-Event-ID): an event id this stream sent, a whole number."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The stream request is invalid.");
        }

        // A stream never ends by itself: it ends when the client leaves or the host begins to stop (the client resumes elsewhere).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, lifetime.ApplicationStopping);
        var cancellationToken = stopping.Token;
        var after = resumeAfter ?? await feed.LastSeqAsync(cancellationToken);
        var response = http.Response;
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.WriteAsync($"retry: {(int)(Poll.TotalMilliseconds * 3)}\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
        var quietSince = DateTimeOffset.UtcNow;
        try
        {
            var keyCheckedAt = DateTimeOffset.UtcNow;
            while (!cancellationToken.IsCancellationRequested)
            {
                // A stream outlives the check made when it opened: it ends once its key is revoked or expires (and with it the console sessions opened with it).
                if (DateTimeOffset.UtcNow - keyCheckedAt >= KeyCheck)
                {
                    if (http.User.FindFirst(ApiKeyAuthentication.KeyIdClaim)?.Value is not { } keyId || await keys.FindByIdAsync(keyId, cancellationToken) is not { } key || !key.IsActiveAt(time.GetUtcNow()))
                    {
                        break;
                    }

                    keyCheckedAt = DateTimeOffset.UtcNow;
                }

                var events = await feed.ReadAfterAsync(after, 500, platform, wanted, cancellationToken);
                foreach (var e in events)
                {
                    await response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"id: {e.Seq}\nevent: {e.Type}\ndata: {e.Data}\n\n"), cancellationToken);
                    after = e.Seq;
                }

                if (events.Count > 0)
                {
                    await response.Body.FlushAsync(cancellationToken);
                    quietSince = DateTimeOffset.UtcNow;
                }
                else if (DateTimeOffset.UtcNow - quietSince >= Heartbeat)
                {
                    await response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await response.Body.FlushAsync(cancellationToken);
                    quietSince = DateTimeOffset.UtcNow;
                }

                await Task.Delay(Poll, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left, or the host is stopping: the client resumes with Last-Event-ID.
        }

        return Results.Empty;
    }
}
