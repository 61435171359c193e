using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Threading.RateLimiting;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Authentication;
using OpenTelemetry.Metrics;
using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Storage;

namespace Apex.Silo.Hosting;

public static class SiloHostExtensions
{
    /// <summary>
    /// Validates the settings (a wrong one stops the host with its message), prepares the local
    /// profile's SQLite files and wires Orleans, the ingest log, ProblemDetails and OpenAPI.
    /// </summary>
    public static async Task<WebApplicationBuilder> AddApexSiloAsync(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(ApexOptions.Section).Get<ApexOptions>() ?? new ApexOptions();
        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true))
        {
            throw new OptionsValidationException(ApexOptions.Section, typeof(ApexOptions), errors.Select(e => e.ErrorMessage ?? "invalid setting"));
        }

        builder.Services.AddSingleton(Options.Create(options));
        var dataDir = Directory.CreateDirectory(options.DataDir).FullName;
        var grainDb = SqliteGrainStorage.ConnectionString(Path.Combine(dataDir, "grains.db"));
        await SqliteGrainStorage.ApplySchemaAsync(grainDb);
        var log = await SqliteIngestLog.OpenAsync(Path.Combine(dataDir, "ingest.db"));
        builder.Services.AddSingleton(log);
        builder.Services.AddSingleton<IIngestLog>(log);
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.AddSingleton<EventIngestor>();
        builder.Services.AddHostedService<IngestCompaction>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(IngestMetrics.MeterName, "Microsoft.Orleans")
            .AddAspNetCoreInstrumentation()
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());

        var keys = await ApiKeyStore.OpenAsync(dataDir);
        if (builder.Configuration["APEX_BOOTSTRAP_ADMIN_KEY"] is { Length: > 0 } bootstrap && await keys.BootstrapAsync(bootstrap))
        {
            await Console.Error.WriteLineAsync("Stored the bootstrap admin key from APEX_BOOTSTRAP_ADMIN_KEY (fresh data folder).");
        }

        builder.Services.AddSingleton(keys);
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Reader, p => p.RequireRole(Roles.Reader))
            .AddPolicy(Roles.Ingest, p => p.RequireRole(Roles.Ingest))
            .AddPolicy(Roles.Admin, p => p.RequireRole(Roles.Admin));
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                RateLimitPartition.GetTokenBucketLimiter(
                    context.User.FindFirst(ApiKeyAuthentication.KeyIdClaim)?.Value ?? "anonymous:" + context.Connection.RemoteIpAddress,
                    _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = options.BurstPerKey,
                        TokensPerPeriod = options.RequestsPerSecondPerKey,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                    }));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                await Results.Problem(title: "Too many requests.", detail: $"This API key may make {options.RequestsPerSecondPerKey} requests per second.", statusCode: 429).ExecuteAsync(context.HttpContext);
            };
        });

        builder.UseOrleans(silo => silo
            .UseLocalhostClustering()
            .AddApexGrainStorage(StorageNames.Tracks, AdoNetDatabase.Sqlite(grainDb))
            .UseApexReminders(AdoNetDatabase.Sqlite(grainDb)));

        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024);
        // Uploads raise the body limit for their own route; the form reader must allow as much.
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(form => form.MultipartBodyLengthLimit = Apis.TracksApi.MaxUploadBytes);
        return builder;
    }
}
