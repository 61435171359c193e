using Apex.Silo.Auth;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Apex.Silo.Hosting;

/// <summary>Declares the <c>X-Api-Key</c> header scheme in the OpenAPI document and requires it for every operation but health.</summary>
public sealed class ApiKeySecurityScheme : IOpenApiDocumentTransformer
{
    public const string Name = "ApiKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Name] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyAuthentication.Header,
            Description = "An API key (apex_{id}_{secret}); its role (reader, ingest, admin) decides what it may call. See README: Security.",
        };
        var requirement = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Name, document)] = [] };
        foreach (var (path, item) in document.Paths ?? [])
        {
            if (path.StartsWith("/health", StringComparison.Ordinal))
            {
                continue;
            }

            if (item.Operations is null)
            {
                continue;
            }

            foreach (var operation in item.Operations.Values)
            {
                operation.Security ??= [];
                operation.Security.Add(requirement);
            }
        }

        return Task.CompletedTask;
    }
}
