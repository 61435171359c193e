using Polly;
using Polly.Retry;

namespace Apex.Cli;

/// <summary>How the CLI's clients of a running host (simulate, import) reach it through restarts and outages.</summary>
internal static class HostClient
{
    /// <summary>
    /// Retries through what a host restart or outage looks like (connection refused or reset, timeouts,
    /// 5xx, 429): exponential backoff from 200 ms with jitter, at most 10 s apart, honouring Retry-After.
    /// </summary>
    public static ResiliencePipeline<HttpResponseMessage> Retrying(int attempts, Action onRetry, CancellationToken cancellationToken) =>
        new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TaskCanceledException>(_ => !cancellationToken.IsCancellationRequested)
                    .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode == System.Net.HttpStatusCode.TooManyRequests),
                MaxRetryAttempts = Math.Max(0, attempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(10),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.Headers.RetryAfter?.Delta is { } after ? (TimeSpan?)after : null),
                OnRetry = _ =>
                {
                    onRetry();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

    /// <summary>Waits up to a minute for /health, so a script can start the host and the simulator together.</summary>
    public static async Task WaitForHostAsync(HttpClient http, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 120; attempt++)
        {
            try
            {
                if ((await http.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(500, cancellationToken);
        }

        throw new HttpRequestException($"no answer from {http.BaseAddress}health within a minute.");
    }
}
