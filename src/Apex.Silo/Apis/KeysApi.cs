using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>API keys' life cycle (admin): create, list, revoke, rotate.</summary>
public static class KeysApi
{
    /// <summary>The longest lifetime a key can be given at creation.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(5 * 366);

    /// <summary>The longest time a rotated key keeps working beside its replacement.</summary>
    public static readonly TimeSpan MaxGrace = TimeSpan.FromDays(30);

    public sealed record CreateKeyRequest(
        [property: Required, AllowedValues("reader", "ingest", "admin")] string? Role,
        [property: StringLength(100), Description("At most 100 characters, no control characters or bidirectional overrides; default: the role.")] string? Name = null,
        [property: Description("Optional: in the future, at most 5 years ahead.")] DateTimeOffset? ExpiresAt = null);

    public sealed record CreateKeyResponse(string Key, string Id, string Role, string Name, DateTimeOffset? ExpiresAt);

    public sealed record KeyView(string Id, string Role, string Name, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string Status);

    public sealed record RotateKeyRequest([property: Range(0, 2_592_000), Description("How long the old key keeps working (default 0).")] long? GraceSeconds = null);

    public sealed record RotateKeyResponse(string Key, string Id, string Role, string Name, string Replaces, DateTimeOffset? OldKeyExpiresAt);

    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/keys").WithTags("keys").RequireAuthorization(Roles.Admin);
        keys.MapPost("", CreateAsync)
            .WithName("CreateKey")
            .WithSummary("Create an API key (shown once) with the role reader, ingest or admin; name: at most 100 characters; expires_at: optional, in the future, at most 5 years ahead.");
        keys.MapGet("", ListAsync)
            .WithName("ListKeys")
            .WithSummary("Every key (id, role, name, created, expires, revoked, status), newest first; never a key in clear.");
        keys.MapDelete("/{id}", RevokeAsync)
            .WithName("RevokeKey")
            .WithSummary("Revoke a key: it stops working on every silo within 5 s. The last active admin key cannot be revoked (409).");
        keys.MapPost("/{id}/rotate", RotateAsync)
            .WithName("RotateKey")
            .WithSummary("Replace a key by a new one (same role and name, shown once); the old one keeps working for grace_seconds (0 to 2,592,000; default 0), then expires.");
        return app;
    }

    private static async Task<Results<Created<CreateKeyResponse>, ValidationProblem>> CreateAsync(CreateKeyRequest request, ApiKeyStore keys, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Role is null || !Roles.IsKnown(request.Role))
        {
            errors["role"] = [$"One of {string.Join(", ", Roles.All)}."];
        }

        if (request.Name is { Length: > 100 } || (request.Name is { } name && !Domains.IsPlainText(name)))
        {
            errors["name"] = ["At most 100 characters, no control characters or bidirectional overrides."];
        }

        var now = time.GetUtcNow();
        if (request.ExpiresAt is { } expires && (expires <= now || expires - now > MaxLifetime))
        {
            errors["expires_at"] = ["In the future, and at most 5 years ahead."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The key request is invalid; no key was created.");
        }

        var (key, info) = await keys.CreateAsync(request.Role!, string.IsNullOrWhiteSpace(request.Name) ? request.Role! : request.Name.Trim(), request.ExpiresAt, cancellationToken);
        return TypedResults.Created($"/keys/{info.Id}", new CreateKeyResponse(key, info.Id, info.Role, info.Name, info.ExpiresAt));
    }

    private static async Task<Ok<IReadOnlyList<KeyView>>> ListAsync(ApiKeyStore keys, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return TypedResults.Ok<IReadOnlyList<KeyView>>((await keys.ListAsync(cancellationToken))
            .Select(k => new KeyView(k.Id, k.Role, k.Name, k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.StatusAt(now))).ToList());
    }

    private static async Task<Results<NoContent, NotFound<Microsoft.AspNetCore.Mvc.ProblemDetails>, Conflict<Microsoft.AspNetCore.Mvc.ProblemDetails>>> RevokeAsync(string id, ApiKeyStore keys, CancellationToken cancellationToken) =>
        await keys.RevokeAsync(id, cancellationToken) switch
        {
            RevokeOutcome.Revoked or RevokeOutcome.AlreadyRevoked => TypedResults.NoContent(),
            RevokeOutcome.NotFound => TypedResults.NotFound(new Microsoft.AspNetCore.Mvc.ProblemDetails { Title = "Unknown key.", Detail = $"No key has the id '{id}'.", Status = 404 }),
            RevokeOutcome.LastAdmin => TypedResults.Conflict(new Microsoft.AspNetCore.Mvc.ProblemDetails { Title = "The last admin key.", Detail = "Revoking the last active admin key would leave nobody able to manage keys: create or rotate another admin key first.", Status = 409 }),
            var other => throw new InvalidOperationException($"Unexpected revocation outcome {other}."),
        };

    private static async Task<Results<Created<RotateKeyResponse>, NotFound<Microsoft.AspNetCore.Mvc.ProblemDetails>, ValidationProblem>> RotateAsync(string id, RotateKeyRequest? request, ApiKeyStore keys, CancellationToken cancellationToken)
    {
        var grace = request?.GraceSeconds ?? 0;
        if (grace < 0 || grace > MaxGrace.TotalSeconds)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["grace_seconds"] = [$"From 0 to {MaxGrace.TotalSeconds:0} (30 days)."] });
        }

        if (await keys.RotateAsync(id, TimeSpan.FromSeconds(grace), cancellationToken) is not { } rotated)
        {
            return TypedResults.NotFound(new Microsoft.AspNetCore.Mvc.ProblemDetails { Title = "Unknown key.", Detail = $"No active key has the id '{id}'.", Status = 404 });
        }

        var (key, info, old) = rotated;
        return TypedResults.Created($"/keys/{info.Id}", new RotateKeyResponse(key, info.Id, info.Role, info.Name, old.Id, old.ExpiresAt));
    }
}
