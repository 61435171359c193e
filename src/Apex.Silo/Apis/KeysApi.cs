using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>POST /keys: an admin creates API keys.</summary>
public static class KeysApi
{
    public sealed record CreateKeyRequest(string? Role, string? Name);

    public sealed record CreateKeyResponse(string Key, string Id, string Role, string Name);

    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/keys", CreateAsync)
            .WithName("CreateKey")
            .WithSummary("Create an API key (shown once) with the role reader, ingest or admin.")
            .WithTags("keys")
            .RequireAuthorization(Roles.Admin);
        return app;
    }

    private static async Task<Results<Created<CreateKeyResponse>, ValidationProblem>> CreateAsync(CreateKeyRequest request, ApiKeyStore keys, CancellationToken cancellationToken)
    {
        if (request.Role is null || !Roles.IsKnown(request.Role))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["role"] = [$"One of {string.Join(", ", Roles.All)}."] });
        }

        var (key, info) = await keys.CreateAsync(request.Role, string.IsNullOrWhiteSpace(request.Name) ? request.Role : request.Name, cancellationToken);
        return TypedResults.Created($"/keys/{info.Id}", new CreateKeyResponse(key, info.Id, info.Role, info.Name));
    }
}
