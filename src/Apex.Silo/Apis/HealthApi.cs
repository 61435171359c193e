using System.Text.Json;
using Apex.Silo.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Apex.Silo.Apis;

public static class HealthApi
{
    public const string ReadyTag = "ready";

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", Live)
            .WithName("Live")
            .WithSummary("Liveness: answers 200 while the host process runs (a database outage does not make it fail).")
            .WithTags("health");
        app.MapGet("/health", Live)
            .WithName("Health")
            .WithSummary("Liveness, as /health/live.")
            .WithTags("health");
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync })
            .WithName("Ready")
            .WithSummary("Readiness: 200 when the silo is active and its database answers, else 503; the body says why and how much work is queued here.")
            .WithTags("health");
        return app;
    }

    private static Ok<LiveView> Live(IOptions<ApexOptions> options) => TypedResults.Ok(new LiveView("ok", options.Value.Profile));

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString().ToLowerInvariant(), description = e.Value.Description, data = e.Value.Data }),
        }, cancellationToken: context.RequestAborted);
    }

    public sealed record LiveView(string Status, string Profile);
}
