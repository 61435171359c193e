using Apex.Silo.Hosting;

namespace Apex.Silo.Apis;

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", (IOptions<ApexOptions> options) => TypedResults.Ok(new { status = "ok", profile = options.Value.Profile }))
            .WithName("Health")
            .WithSummary("Liveness: answers when the host and its silo run.")
            .WithTags("health");
        return app;
    }
}
