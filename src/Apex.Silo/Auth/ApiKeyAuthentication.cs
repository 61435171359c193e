using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;

namespace Apex.Silo.Auth;

/// <summary>
/// Authenticates the <c>X-Api-Key</c> header against the key store (revoked and expired keys are
/// unknown); the principal carries the key's implied roles. Each unknown key counts against the
/// client address's budget in <see cref="AuthFailureThrottle"/>.
/// </summary>
public sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys, AuthFailureThrottle failures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";
    public const string KeyIdClaim = "apex:key_id";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var values) || values.Count != 1 || string.IsNullOrWhiteSpace(values[0]))
        {
            return AuthenticateResult.NoResult();
        }

        var key = await keys.FindAsync(values[0]!, Context.RequestAborted);
        if (key is null)
        {
            failures.RecordFailure(AuthFailureThrottle.ClientOf(Context));
            return AuthenticateResult.Fail("Unknown API key.");
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(KeyIdClaim, key.Id) };
        claims.AddRange(Roles.Implied(key.Role).Select(r => new Claim(ClaimTypes.Role, r)));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        await Results.Problem(title: "Authentication required.", detail: $"Send a valid API key in the {Header} header.", statusCode: 401).ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Results.Problem(title: "Forbidden.", detail: "This API key's role does not allow this request.", statusCode: 403).ExecuteAsync(Context);
    }
}
