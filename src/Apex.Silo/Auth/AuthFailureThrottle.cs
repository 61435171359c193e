using System.Globalization;
using System.Threading.RateLimiting;

namespace Apex.Silo.Auth;

/// <summary>
/// Failed authentications per client address, in a token bucket per address (System.Threading.RateLimiting):
/// once an address has spent its <see cref="Burst"/> failures, every request from it that carries a key
/// is refused with 429 and Retry-After before any key-store lookup, until the bucket refills (one failure
/// back every <see cref="RefillEvery"/>). Guessing keys costs the guesser time, not the database work.
/// </summary>
public sealed class AuthFailureThrottle : IDisposable
{
    public const int Burst = 20;
    public static readonly TimeSpan RefillEvery = TimeSpan.FromSeconds(3);

    private readonly PartitionedRateLimiter<string> _failures = PartitionedRateLimiter.Create<string, string>(client =>
        RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Burst,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = RefillEvery,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    public static string ClientOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }

    public void RecordFailure(string client)
    {
        using var lease = _failures.AttemptAcquire(client);
    }

    public bool IsBlocked(string client) => _failures.GetStatistics(client)?.CurrentAvailablePermits <= 0;

    public void Dispose() => _failures.Dispose();
}

public static class AuthFailureThrottleExtensions
{
    /// <summary>Refuses requests with a key from an address past its failure budget (before authentication runs).</summary>
    public static IApplicationBuilder UseAuthFailureThrottle(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var throttle = app.ApplicationServices.GetRequiredService<AuthFailureThrottle>();
        return app.Use(async (context, next) =>
        {
            if (context.Request.Headers.ContainsKey(ApiKeyAuthentication.Header) && throttle.IsBlocked(AuthFailureThrottle.ClientOf(context)))
            {
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(AuthFailureThrottle.RefillEvery.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await Results.Problem(title: "Too many failed authentications.", detail: "This address sent too many unknown API keys; wait for the Retry-After delay.", statusCode: 429).ExecuteAsync(context);
                return;
            }

            await next(context);
        });
    }
}
