using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Apex.Web.Auth;

/// <summary>
/// The console's sessions: an API key is exchanged once for an HttpOnly, SameSite=Strict cookie that
/// carries the key's id and roles; the key itself is never stored in the browser. Every request checks
/// that the key is still active, so revoking a key ends its sessions (within the key store's 5 s cache).
/// </summary>
public static class ConsoleAuth
{
    public const string Scheme = "ApexConsole";
    public const string CookieName = "apex_console";
    public const string KeyIdClaim = "apex:key_id";

    /// <summary>How long a session lasts without use; each use within it extends it.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    public const string ReaderPolicy = "console:reader";
    public const string AdminPolicy = "console:admin";

    /// <summary>The roles the console knows; each includes the ones before it.</summary>
    public const string Reader = "reader";
    public const string Admin = "admin";

    public static AuthenticationBuilder AddApexConsoleCookie(this AuthenticationBuilder authentication)
    {
        ArgumentNullException.ThrowIfNull(authentication);
        authentication.Services.AddAuthorizationBuilder()
            .AddPolicy(ReaderPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(Reader))
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(Admin));
        return authentication.AddCookie(Scheme, cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.Cookie.Path = "/";
            cookie.ExpireTimeSpan = SessionLifetime;
            cookie.SlidingExpiration = true;
            cookie.LoginPath = ConsolePaths.SignIn;
            cookie.AccessDeniedPath = ConsolePaths.Denied;
            cookie.ReturnUrlParameter = "returnUrl";
            cookie.Events.OnValidatePrincipal = ValidateAsync;
        });
    }

    /// <summary>The principal of a signed-in key.</summary>
    public static ClaimsPrincipal PrincipalOf(SignedInKey key, IReadOnlyList<string> roles)
    {
        ArgumentNullException.ThrowIfNull(key);
        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(KeyIdClaim, key.Id), new("apex:role", key.Role) };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme));
    }

    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var keys = context.HttpContext.RequestServices.GetRequiredService<IConsoleKeys>();
        var id = context.Principal?.FindFirst(KeyIdClaim)?.Value;
        if (id is null || !await keys.IsActiveAsync(id, context.HttpContext.RequestAborted))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }
}
