namespace Apex.Web.Auth;

/// <summary>An API key as the console knows it: its id, name and role (the host's key store answers).</summary>
public sealed record SignedInKey(string Id, string Name, string Role);

/// <summary>The host's API keys, as the console's sign-in and session checks need them.</summary>
public interface IConsoleKeys
{
    /// <summary>The active key with this secret, or null (unknown, revoked or expired; counted against the client's failure budget).</summary>
    Task<SignedInKey?> FindAsync(string key, Microsoft.AspNetCore.Http.HttpContext request);

    /// <summary>
    /// When the client's address has spent its failure budget: how long to wait (sign-in is then refused
    /// before any lookup, as API requests are); null while it may try.
    /// </summary>
    TimeSpan? Throttled(Microsoft.AspNetCore.Http.HttpContext request);

    /// <summary>Whether the key with this id is still active (a revoked or expired key ends its sessions).</summary>
    Task<bool> IsActiveAsync(string keyId, CancellationToken cancellationToken = default);

    /// <summary>The roles a key of <paramref name="role"/> holds (each role includes the ones below it).</summary>
    IReadOnlyList<string> RolesOf(string role);
}
