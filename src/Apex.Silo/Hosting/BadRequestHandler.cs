using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace Apex.Silo.Hosting;

/// <summary>
/// A request the server refuses while reading it is the client's error, never a 500, and nothing was
/// stored: over the size limit (413), a malformed multipart form, JSON that does not bind (400 naming
/// the field, e.g. <c>events[0].count</c>, and why), a query or route value of the wrong type (400
/// naming the parameter).
/// </summary>
public sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var (status, detail, field) = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                (StatusCodes.Status413PayloadTooLarge, "The request body is larger than this endpoint takes.", null),
            BadHttpRequestException { InnerException: JsonException json } => (StatusCodes.Status400BadRequest, Describe(json), Field(json.Path)),
            // The framework's own message names the parameter and the value it could not bind (no internals).
            BadHttpRequestException bad when bad.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal) || bad.Message.StartsWith("Required parameter", StringComparison.Ordinal) =>
                (bad.StatusCode, bad.Message, null),
            BadHttpRequestException bad => (bad.StatusCode, "The request body could not be read.", null),
            // The form reader's limits (multipart body, section and value lengths).
            InvalidDataException invalid when invalid.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) =>
                (StatusCodes.Status413PayloadTooLarge, "The form is larger than this endpoint takes.", null),
            InvalidDataException => (StatusCodes.Status400BadRequest, "The form could not be read.", (string?)null),
            _ => (0, "", null),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        var problem = field is null
            ? new Microsoft.AspNetCore.Mvc.ProblemDetails()
            : new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] });
        problem.Status = status;
        problem.Title = status == StatusCodes.Status413PayloadTooLarge ? "Request too large." : "Bad request.";
        problem.Detail = detail + " Nothing was stored.";
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, Exception = exception, ProblemDetails = problem });
    }

    /// <summary>"$.events[0].count" → "events[0].count"; the body itself when the path is the root.</summary>
    private static string Field(string? path) =>
        path is null or "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static string Describe(JsonException json)
    {
        var field = Field(json.Path);
        // System.Text.Json's own messages name .NET types, not the JSON the client should send: they are
        // only sorted here into the client's three mistakes, in words of the API.
        var message = json.Message;
        return json switch
        {
            JsonFieldRuleException rule => $"'{field}': {rule.Rule}",
            _ when message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) =>
                $"'{field}' is not a field of this request (the OpenAPI document lists them); nothing unknown is ignored.",
            _ when message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase) =>
                $"'{field}' is sent more than once; send each field once.",
            _ when field == "body" => "The body is not valid JSON of the expected shape.",
            _ => $"'{field}' has a value of the wrong type, or the JSON is malformed there (the OpenAPI document gives each field's domain).",
        };
    }
}
