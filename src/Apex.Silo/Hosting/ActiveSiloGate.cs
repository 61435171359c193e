namespace Apex.Silo.Hosting;

/// <summary>
/// Requests reach grains only while Orleans can place grains on this silo and the host is not stopping
/// (<see cref="PlacementReadiness"/>). Before that (or once SIGTERM arrived, or once the cluster declared
/// this silo dead) a request answers 503 with Retry-After, a retryable answer a client or load balancer
/// sends elsewhere or again, instead of a placement failure. Requests already past the gate finish:
/// Kestrel stops (and drains them) before the silo does. Probes and the metrics scrape stay open, since
/// they must say why.
/// </summary>
public sealed class ActiveSiloGate(RequestDelegate next, PlacementReadiness placement, IHostApplicationLifetime lifetime)
{
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (AlwaysOpen(context.Request.Path) || placement.CanPlace)
        {
            await next(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var stopping = lifetime.ApplicationStopping.IsCancellationRequested;
        await Results.Problem(
            title: stopping ? "This instance is stopping." : "This instance is not active in its cluster.",
            detail: "Nothing of this request was acknowledged. Retry after the Retry-After delay (another instance may answer sooner).",
            statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
    }

    private static bool AlwaysOpen(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/openapi", StringComparison.OrdinalIgnoreCase);
}
