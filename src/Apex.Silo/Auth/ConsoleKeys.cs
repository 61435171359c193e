using Apex.Web.Auth;

namespace Apex.Silo.Auth;

/// <summary>The console's view of the key store: sign-in failures count against the client's budget as API failures do.</summary>
public sealed class ConsoleKeys(ApiKeyStore keys, AuthFailureThrottle failures) : IConsoleKeys
{
    public async Task<SignedInKey?> FindAsync(string key, HttpContext request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Throttled(request) is not null)
        {
            return null;
        }

        var found = key.Length > 0 ? await keys.FindAsync(key, request.RequestAborted) : null;
        if (found is null)
        {
            failures.RecordFailure(AuthFailureThrottle.ClientOf(request));
            return null;
        }

        return new SignedInKey(found.Id, found.Name, found.Role);
    }

    public TimeSpan? Throttled(HttpContext request) =>
        failures.IsBlocked(AuthFailureThrottle.ClientOf(request)) ? AuthFailureThrottle.RefillEvery : null;

    public async Task<bool> IsActiveAsync(string keyId, CancellationToken cancellationToken = default) =>
        await keys.FindByIdAsync(keyId, cancellationToken) is { } key && key.IsActiveAt(DateTimeOffset.UtcNow);

    public IReadOnlyList<string> RolesOf(string role) => [.. Roles.Implied(role)];
}
