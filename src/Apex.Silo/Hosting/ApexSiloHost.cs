using Apex.Silo.Apis;
using Apex.Silo.Auth;
using Apex.Web;
using Orleans.Dashboard;

namespace Apex.Silo.Hosting;

/// <summary>The whole host: ASP.NET Core minimal API and the Orleans silo in one process.</summary>
public static class ApexSiloHost
{
    public static async Task<WebApplication> BuildAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddApexSilo();
        var app = builder.Build();
        try
        {
            // The settings first: the stores are made from them.
            _ = app.Services.GetRequiredService<IOptions<ApexOptions>>().Value;
            await app.Services.GetRequiredService<StoreStartup>().RunAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        app.Services.GetRequiredService<Apex.Grains.Ingest.IIngestLog>().Metrics = app.Services.GetRequiredService<Apex.Grains.Ingest.IngestMetrics>();
        if (app.Services.GetRequiredService<IOptions<ApexOptions>>().Value.TrustedProxyNetworks() is { Count: > 0 } proxies)
        {
            // Only the configured proxies are believed (the framework's default also trusts loopback).
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in proxies)
            {
                forwarded.KnownIPNetworks.Add(proxy);
            }

            app.UseForwardedHeaders(forwarded);
        }

        // No answer is ever sniffed into another type: stored audio is served as what its name says, never as a page.
        app.Use(static (context, next) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<ActiveSiloGate>();
        app.UseAuthFailureThrottle();
        app.UseAuthentication();
        app.UseAuthorization();
        // After authentication, so that the limit is per key.
        app.UseRateLimiter();
        app.MapOpenApi();
        // Prometheus scrapes /metrics without a key, as scrapers do; it holds counts, not data.
        app.MapPrometheusScrapingEndpoint();
        app.MapHealthApi();
        app.MapTracksApi();
        app.MapTimelineApi();
        app.MapStreamApi();
        app.MapCatalogueApi();
        app.MapEventsApi();
        app.MapKeysApi();
        app.MapWebhooksApi();
        app.MapPlatformsApi();
        app.MapClusterApi();
        app.MapArenaApi();
        app.MapTrainingApi();
        app.MapOrleansDashboard(routePrefix: "/dashboard").RequireAuthorization(Auth.Roles.Admin);
        app.MapApexConsole();
        return app;
    }

    /// <summary>
    /// Runs until stopped; a setting that fails validation ends it at once with its message and exit code 2,
    /// stores that cannot be opened (an unreachable cluster database, a data folder it cannot write) or do
    /// not agree (no <c>apex db init</c> yet, a lost ingest log, a newer schema) with exit code 3, naming
    /// the store and the way out.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        WebApplication app;
        try
        {
            app = await BuildAsync(args);
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync($"error: invalid settings: {string.Join("; ", ex.Failures)}");
            return 2;
        }
        catch (Apex.Grains.Storage.StoreDisagreementException ex)
        {
            await Console.Error.WriteLineAsync("error: the stores of this deployment do not agree; the host will not serve from them:");
            foreach (var finding in ex.Report.Findings)
            {
                await Console.Error.WriteLineAsync($"  - {finding.Store}: {finding.Problem}.\n    Way out: {finding.WayOut}.");
            }

            return 3;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            // The cluster's database is unreachable, or the data folder cannot be written: say so, not a stack trace.
            await Console.Error.WriteLineAsync($"error: cannot open the stores: {ex.Message}");
            return 3;
        }

        await app.RunAsync();
        return 0;
    }
}
