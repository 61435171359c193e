using Microsoft.AspNetCore.Diagnostics;

namespace Apex.Silo.Hosting;

/// <summary>
/// A body the server refuses while reading it (over the size limit, a malformed multipart form) is the
/// client's error: its status (413 or 400) as ProblemDetails, never a 500, and nothing was stored.
/// </summary>
public sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var (status, detail) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body is larger than this endpoint takes."
                : "The request body could not be read."),
            // The form reader's limits (multipart body, section and value lengths).
            InvalidDataException invalid when invalid.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) =>
                (StatusCodes.Status413PayloadTooLarge, "The form is larger than this endpoint takes."),
            InvalidDataException => (StatusCodes.Status400BadRequest, "The form could not be read."),
            _ => (0, ""),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = status == StatusCodes.Status413PayloadTooLarge ? "Request too large." : "Bad request.", Detail = detail + " Nothing was stored." },
        });
    }
}
