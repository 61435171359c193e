using Apex.Grains.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace Apex.Silo.Hosting;

/// <summary>
/// A store that cannot be reached or written (the database is down or restarting, the disk is full or
/// read-only, a silo is unreachable) is the server's temporary trouble, not a bug: the request answers
/// 503 with Retry-After, nothing in it was acknowledged, and the client retries. One log line, no
/// stack trace, and nothing about the server's internals in the answer.
/// </summary>
public sealed partial class StoreUnavailableHandler(IProblemDetailsService problems, ILogger<StoreUnavailableHandler> logger) : IExceptionHandler
{
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (!IsUnavailable(exception))
        {
            return false;
        }

        LogUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.GetType().Name, exception.Message);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Temporarily unavailable.",
                Detail = "A store this request needs cannot be reached or written right now; nothing of this request was acknowledged. Retry after the Retry-After delay.",
            },
        });
    }

    /// <summary>Whether the exception (or one it wraps) says a store or silo is out of reach for now; a refused HTTP body is the client's.</summary>
    public static bool IsUnavailable(Exception? exception) =>
        exception is not BadHttpRequestException && StoreFailure.IsUnavailable(exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: a store is unavailable ({Error}: {Reason})")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string error, string reason);
}
