using Apex.Web.Auth;
using Apex.Web.Components;
using Apex.Web.Data;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;

namespace Apex.Web;

/// <summary>
/// The web console: Blazor components rendered on the server (static server rendering: every page is
/// plain HTML and forms, usable without script), under <see cref="ConsolePaths.Root"/>, signed in by
/// cookie (<see cref="ConsoleAuth"/>). The host adds it beside its JSON API.
/// </summary>
public static class ConsoleSetup
{
    public static IServiceCollection AddApexConsole(this IServiceCollection services, ConsoleSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton<ConsoleQueries>();
        services.AddRazorComponents();
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "apex_console_af";
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.HttpOnly = true;
        });
        return services;
    }

    /// <summary>Serves the console's assets and pages; call after authentication and authorization.</summary>
    public static WebApplication MapApexConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(static (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(ConsolePaths.Root, StringComparison.Ordinal))
            {
                // Everything the console loads is its own: no inline script or style, no other origin, no framing.
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "same-origin";
            }

            return next(context);
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new ManifestEmbeddedFileProvider(typeof(ConsoleSetup).Assembly, "Assets"),
            RequestPath = ConsoleAssets.Path,
            // Asset addresses carry the build's version, so a year's cache is safe.
            OnPrepareResponse = file => file.Context.Response.Headers[Microsoft.Net.Http.Headers.HeaderNames.CacheControl] = "public, max-age=31536000, immutable",
        });
        app.UseAntiforgery();
        app.MapGet("/", () => Results.Redirect(ConsolePaths.Root)).ExcludeFromDescription();
        // Authenticated by the session cookie: the form's antiforgery token was issued to that user.
        app.MapPost(ConsolePaths.SignOut, SignOutAsync).RequireAuthorization(ConsoleAuth.ReaderPolicy).ExcludeFromDescription();
        app.MapRazorComponents<App>();
        return app;
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Problem(title: "The sign-out form is invalid.", detail: "Sign out from a console page (the form carries an antiforgery token).", statusCode: StatusCodes.Status400BadRequest);
        }

        await context.SignOutAsync(ConsoleAuth.Scheme);
        return Results.Redirect(ConsolePaths.SignIn);
    }
}
