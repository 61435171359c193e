using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Data.Sqlite;
using Npgsql;

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

    /// <summary>Whether the exception (or one it wraps) says a store or silo is out of reach for now.</summary>
    public static bool IsUnavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var unavailable = e switch
            {
                // (A PostgresException that crossed silos may have lost its SQL state.)
                PostgresException pg => pg.SqlState is not { Length: >= 2 } state || state[..2] is "08" or "53" or "57" or "40" or "58",
                NpgsqlException => true,
                SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6 or 8 or 10 or 13 or 14,
                // Disk full, read-only file system, I/O error, quota (errno on Unix; disk full on Windows).
                IOException io when io is not BadHttpRequestException => io.HResult is 28 or 30 or 5 or 122 or unchecked((int)0x80070070),
                SocketException or TimeoutException => true,
                SiloUnavailableException or OrleansMessageRejectionException => true,
                // A failure inside a grain on another silo arrives as a fallback carrying the type's name.
                Orleans.Serialization.UnavailableExceptionFallbackException fallback => fallback.ExceptionType is { } type && (type.Contains("Npgsql", StringComparison.Ordinal) || type.Contains("Sqlite", StringComparison.Ordinal)),
                _ => false,
            };
            if (unavailable)
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsUnavailable))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: a store is unavailable ({Error}: {Reason})")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string error, string reason);
}
