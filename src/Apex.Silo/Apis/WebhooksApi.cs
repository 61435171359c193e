using System.ComponentModel;
using Apex.Grains.Signals;
using Apex.Grains.Webhooks;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Apex.Silo.Apis;

/// <summary>
/// Webhook subscriptions (admin): a URL receives the signal feed's events of the types and platforms
/// it names, signed, at least once, retried from a durable outbox; its deliveries can be read and sent again.
/// </summary>
public static class WebhooksApi
{
    /// <summary>Subscriptions a cluster keeps at most: each one multiplies the deliveries of every event.</summary>
    public const int MaxSubscriptions = 100;

    public const int MaxUrl = 2048;

    public sealed record CreateSubscriptionRequest(
        [property: Description("An absolute http or https URL; not a loopback, link-local, unspecified or multicast address (loopback only when Apex:Webhooks:AllowLoopback is true).")] string? Url,
        [property: Description("One or more of breakout, scored, model_promoted, calibration_drift.")] IReadOnlyList<string>? Types,
        [property: Description("Optional: only these platforms' events (events on no platform, such as model_promoted, are then left out); default every platform.")] IReadOnlyList<string>? Platforms = null,
        [property: Description("Optional: at most 200 characters.")] string? Description = null);

    public sealed record SubscriptionView(string Id, string Url, IReadOnlyList<string> Types, IReadOnlyList<string> Platforms, string Description, DateTimeOffset CreatedAt, long FromEventId)
    {
        public static SubscriptionView Of(WebhookSubscription s) => new(s.Id, s.Url, s.Types, s.Platforms, s.Description, s.CreatedAt, s.FromSeq);
    }

    public sealed record CreateSubscriptionResponse(string Id, string Url, IReadOnlyList<string> Types, IReadOnlyList<string> Platforms, string Description, DateTimeOffset CreatedAt, long FromEventId, string Secret);

    /// <summary>The longest a rotated secret keeps signing beside its replacement.</summary>
    public static readonly TimeSpan MaxGrace = TimeSpan.FromDays(30);

    public sealed record RotateSecretRequest([property: Description("How long the previous secret keeps signing beside the new one (0 to 2,592,000 s; default 86,400: a day).")] long? GraceSeconds = null);

    public sealed record RotateSecretResponse(string Id, string Secret, DateTimeOffset PreviousSecretUntil);

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var subscriptions = app.MapGroup("/subscriptions").WithTags("webhooks").RequireAuthorization(Roles.Admin);
        subscriptions.MapPost("", CreateAsync)
            .WithName("CreateSubscription")
            .WithSummary("Subscribe a URL to the signal feed's events recorded from now on (types, platforms); answers its signing secret, shown once. See README, \"Webhooks\", for the body, headers and signature.");
        subscriptions.MapGet("", ListAsync)
            .WithName("ListSubscriptions")
            .WithSummary("Every subscription, oldest first; never a secret.");
        subscriptions.MapGet("/{id}", GetAsync)
            .WithName("GetSubscription")
            .WithSummary("One subscription; never its secret.");
        subscriptions.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteSubscription")
            .WithSummary("Delete a subscription with its deliveries; pending ones are not sent.");
        subscriptions.MapPost("/{id}/rotate-secret", RotateSecretAsync)
            .WithName("RotateSubscriptionSecret")
            .WithSummary("Give a subscription a new secret (shown once); the previous one signs beside it, a second v1 in Apex-Signature, for grace_seconds (default a day).");
        subscriptions.MapGet("/{id}/deliveries", DeliveriesAsync)
            .WithName("ListDeliveries")
            .WithSummary("A subscription's deliveries, newest event first: status (pending, delivered, failed), attempts, the last answer or error and the next attempt. status= keeps one status; before= an event_id pages back; limit 1..1000 (100).");
        subscriptions.MapPost("/{id}/deliveries/{deliveryId}/redeliver", RedeliverAsync)
            .WithName("Redeliver")
            .WithSummary("Send a delivery again, with its retries from the start, whatever its status (same delivery id).");
        return app;
    }

    private static async Task<Results<Created<CreateSubscriptionResponse>, ValidationProblem, Conflict<ProblemDetails>>> CreateAsync(CreateSubscriptionRequest request, WebhookStore store,
        IOptions<WebhookOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Url is not { Length: > 0 and <= MaxUrl } url)
        {
            errors["url"] = [$"Required: an absolute http or https URL of at most {MaxUrl} characters."];
        }
        else if (await WebhookTargets.CheckAsync(url, options.Value.AllowLoopback, cancellationToken) is { } refused)
        {
            errors["url"] = [$"Not a target deliveries may go to: {refused}."];
        }

        var types = request.Types?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (types.Count == 0 || types.Any(t => !SignalEvent.Types.Contains(t)))
        {
            errors["types"] = [$"One or more of {string.Join(", ", SignalEvent.Types)}."];
        }

        var platforms = request.Platforms?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (platforms.Count > 100 || platforms.Any(p => !Domains.IsName(p, Domains.MaxPlatform)))
        {
            errors["platforms"] = [$"When given: at most 100 platforms, each {Domains.NameRule(Domains.MaxPlatform)}."];
        }

        var description = request.Description?.Trim() ?? "";
        if (description.Length > 200 || !Domains.IsPlainText(description))
        {
            errors["description"] = ["At most 200 characters, no control characters or bidirectional overrides."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The subscription is invalid; nothing was subscribed.");
        }

        if ((await store.ListSubscriptionsAsync(cancellationToken)).Count >= MaxSubscriptions)
        {
            return TypedResults.Conflict(new ProblemDetails { Title = "Too many subscriptions.", Detail = $"A cluster keeps at most {MaxSubscriptions} subscriptions: delete one first.", Status = 409 });
        }

        var (subscription, secret) = await store.CreateSubscriptionAsync(request.Url!, types, platforms, description, time.GetUtcNow(), cancellationToken);
        var view = SubscriptionView.Of(subscription);
        return TypedResults.Created($"/subscriptions/{subscription.Id}",
            new CreateSubscriptionResponse(view.Id, view.Url, view.Types, view.Platforms, view.Description, view.CreatedAt, view.FromEventId, secret));
    }

    private static async Task<Ok<IReadOnlyList<SubscriptionView>>> ListAsync(WebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<SubscriptionView>>((await store.ListSubscriptionsAsync(cancellationToken)).Select(SubscriptionView.Of).ToList());

    private static async Task<Results<Ok<SubscriptionView>, NotFound<ProblemDetails>>> GetAsync(string id, WebhookStore store, CancellationToken cancellationToken) =>
        await store.GetSubscriptionAsync(id, cancellationToken) is { } subscription ? TypedResults.Ok(SubscriptionView.Of(subscription)) : Unknown(id);

    private static async Task<Results<NoContent, NotFound<ProblemDetails>>> DeleteAsync(string id, WebhookStore store, CancellationToken cancellationToken) =>
        await store.DeleteSubscriptionAsync(id, cancellationToken) ? TypedResults.NoContent() : Unknown(id);

    private static async Task<Results<Ok<IReadOnlyList<WebhookDelivery>>, NotFound<ProblemDetails>, ValidationProblem>> DeliveriesAsync(string id, WebhookStore store, CancellationToken cancellationToken,
        string? status = null, long? before = null, int limit = 100)
    {
        var errors = new Dictionary<string, string[]>();
        if (status is not null && !WebhookDelivery.Statuses.Contains(status))
        {
            errors["status"] = [$"When given: one of {string.Join(", ", WebhookDelivery.Statuses)}."];
        }

        if (before is <= 0)
        {
            errors["before"] = ["When given: an event_id, a whole number above 0."];
        }

        if (limit is < 1 or > 1000)
        {
            errors["limit"] = ["From 1 to 1000."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The deliveries query is invalid.");
        }

        if (await store.GetSubscriptionAsync(id, cancellationToken) is null)
        {
            return Unknown(id);
        }

        return TypedResults.Ok(await store.ListDeliveriesAsync(id, status, limit, before, cancellationToken));
    }

    private static async Task<Results<Ok<RotateSecretResponse>, NotFound<ProblemDetails>, ValidationProblem>> RotateSecretAsync(string id, RotateSecretRequest? request, WebhookStore store, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var grace = request?.GraceSeconds ?? (long)TimeSpan.FromDays(1).TotalSeconds;
        if (grace < 0 || grace > MaxGrace.TotalSeconds)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["grace_seconds"] = [$"From 0 to {MaxGrace.TotalSeconds:0} (30 days)."] });
        }

        var now = time.GetUtcNow();
        return await store.RotateSecretAsync(id, TimeSpan.FromSeconds(grace), now, cancellationToken) is { } secret
            ? TypedResults.Ok(new RotateSecretResponse(id, secret, now + TimeSpan.FromSeconds(grace)))
            : Unknown(id);
    }

    private static async Task<Results<Accepted, NotFound<ProblemDetails>>> RedeliverAsync(string id, string deliveryId, WebhookStore store, TimeProvider time, CancellationToken cancellationToken) =>
        await store.RedeliverAsync(id, deliveryId, time.GetUtcNow(), cancellationToken)
            ? TypedResults.Accepted($"/subscriptions/{id}/deliveries")
            : TypedResults.NotFound(new ProblemDetails { Title = "Unknown delivery.", Detail = $"Subscription '{id}' has no delivery '{deliveryId}'.", Status = 404 });

    private static NotFound<ProblemDetails> Unknown(string id) =>
        TypedResults.NotFound(new ProblemDetails { Title = "Unknown subscription.", Detail = $"No subscription has the id '{id}'.", Status = 404 });
}
