using System.Text.Json;
using System.Threading.RateLimiting;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Authentication;
using OpenTelemetry.Metrics;
using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Arena;
using Apex.Grains.Scoring;
using Apex.Grains.Storage;
using Apex.Scoring;
using Apex.Web;
using Apex.Web.Auth;
using Apex.Web.Data;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Apex.Silo.Hosting;

public static class SiloHostExtensions
{
    /// <summary>The authentication scheme that takes an API key header or, without one, a console session.</summary>
    public const string KeyOrSession = "ApiKeyOrConsole";

    /// <summary>A reader, by API key or by console session.</summary>
    public const string ReaderByKeyOrSession = "reader:key-or-session";

    /// <summary>
    /// Wires Orleans, the stores, the ingest log, authentication, ProblemDetails and OpenAPI. No I/O:
    /// the settings are validated and the stores checked and prepared by <see cref="StoreStartup"/>,
    /// which <see cref="ApexSiloHost"/> runs after the services are built and before the host starts.
    /// Settings the wiring itself cannot read (the gpu flag, embedding and arena sections) stop it with
    /// their message.
    /// </summary>
    public static WebApplicationBuilder AddApexSilo(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ApexOptions>().BindConfiguration(ApexOptions.Section).ValidateOnStart();
        // Orleans retries a placement that finds no active silo (start-up, a silo leaving) and logs each retry
        // at Debug; Polly's telemetry would log the same retry again as a warning. A placement that still
        // fails reaches its caller, which logs it.
        builder.Logging.AddFilter("Polly", LogLevel.Error);
        builder.Services.AddSingleton<IValidateOptions<ApexOptions>, ApexOptionsValidation>();
        // The wiring reads the same section; what it reads is validated before anything uses it.
        var options = builder.Configuration.GetSection(ApexOptions.Section).Get<ApexOptions>() ?? new ApexOptions();
        var metadata = SiloMetadata(builder.Configuration);
        var dataDir = Path.GetFullPath(options.DataDir);
        var postgres = options.Postgres ?? "";
        var database = options.IsCluster ? AdoNetDatabase.Postgres(postgres) : AdoNetDatabase.Sqlite(SqliteGrainStorage.ConnectionString(LocalStores.Grains.PathIn(dataDir)));
        builder.Services.AddSingleton<IIngestLog>(_ =>
        {
            IIngestLog log = options.IsCluster ? PostgresIngestLog.Create(postgres) : SqliteIngestLog.Create(LocalStores.Ingest.PathIn(dataDir));
            log.Retention = new Apex.Grains.Timelines.TimelineRetention(TimeSpan.FromDays(options.TimelineHourlyDays), TimeSpan.FromDays(options.TimelineDailyDays));
            return log;
        });
        builder.Services.AddSingleton(_ => options.IsCluster ? ApiKeyStore.CreatePostgres(postgres) : ApiKeyStore.Create(dataDir));
        builder.Services.AddSingleton(_ => options.IsCluster ? BattleLog.OpenPostgres(postgres) : BattleLog.CreateSqlite(LocalStores.Arena.PathIn(dataDir)));
        builder.Services.AddSingleton<StoreStartup>();
        var scoring = ScoringSettings(builder.Configuration, options, metadata);
        foreach (var (key, value) in EmbedderDirectory.Metadata(scoring.Gpu, scoring.AllowCpu, scoring.Devices))
        {
            metadata[key] = value;
        }

        Func<IServiceProvider, IScoreStore> embeddings = options.IsCluster
            ? _ => ScoreStore.OpenPostgres(postgres)
            : _ => ScoreStore.CreateSqlite(LocalStores.Scores.PathIn(dataDir));
        builder.Services.AddSingleton(_ => options.IsCluster ? Apex.Grains.Signals.SignalFeed.OpenPostgres(postgres) : Apex.Grains.Signals.SignalFeed.CreateSqlite(LocalStores.Scores.PathIn(dataDir)));
        builder.Services.AddSingleton(_ => options.IsCluster ? Apex.Grains.Webhooks.WebhookStore.OpenPostgres(postgres) : Apex.Grains.Webhooks.WebhookStore.CreateSqlite(LocalStores.Scores.PathIn(dataDir)));
        builder.Services.AddOptions<Apex.Grains.Webhooks.WebhookOptions>().BindConfiguration(Apex.Grains.Webhooks.WebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Apex.Grains.Webhooks.WebhookSender>();
        builder.Services.AddSingleton<Apex.Grains.Webhooks.WebhookMetrics>();
        var arena = ArenaSettings(builder.Configuration);
        builder.Services.AddSingleton(arena);
        builder.Services.AddSingleton<Apis.PreferenceJudge>();
        builder.Services.AddSingleton<Apis.BattleRecorder>();
        var trainerSection = builder.Configuration.GetSection("Apex:Training");
        var trainer = trainerSection.Get<Apex.Scoring.Training.TrainerOptions>() ?? new Apex.Scoring.Training.TrainerOptions();
        try
        {
            // The settings a run trains with, checked now rather than when the first run fails on them.
            trainer.Training(Apex.Training.Model.LossStrategy.Uncertainty).Validate();
        }
        catch (ArgumentException ex)
        {
            throw new OptionsValidationException("Apex:Training", typeof(Apex.Scoring.Training.TrainerOptions), [$"Apex:Training: {ex.Message}"]);
        }

        builder.Services.AddSingleton(trainerSection["MaturityDays"] is null ? trainer with { MaturityDays = options.MaturityDays } : trainer);
        var scoringSetup = new ScoringSetup(scoring, new MediaLocations(options.MediaRoot, Path.Combine(dataDir, "uploads")),
            options.ModelsDir ?? Path.Combine(dataDir, "models"), options.SyntheticDemo ?? !options.IsCluster);
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.AddSingleton<Apex.Grains.Populations.PopulationHandoff>();
        builder.Services.AddSingleton<EventIngestor>();
        builder.Services.AddSingleton<Apex.Grains.Backfill.BackfillMetrics>();
        builder.Services.AddOptions<Apex.Grains.Backfill.BackfillOptions>().BindConfiguration(Apex.Grains.Backfill.BackfillOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<Apex.Grains.Signals.SignalOptions>().BindConfiguration(Apex.Grains.Signals.SignalOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Apex.Grains.Signals.SignalMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(IngestMetrics.MeterName, Apex.Grains.Signals.SignalMetrics.MeterName, Apex.Grains.Webhooks.WebhookMetrics.MeterName, OnnxEmbeddingBackend.MeterName, ServingModelHost.MeterName, Apex.Scoring.Training.TrainerGrain.MeterName,
                ArenaMetrics.MeterName, CalibrationMetrics.MeterName, Apex.Grains.Scoring.ScoringWaiters.MeterName, Apex.Grains.Backfill.BackfillMetrics.MeterName, "Microsoft.Orleans")
            .AddAspNetCoreInstrumentation()
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());

        if (builder.Configuration["APEX_BOOTSTRAP_ADMIN_KEY"] is { Length: > 0 } weak && KeyStrength.Bits(weak) < KeyStrength.MinimumBits)
        {
            throw new OptionsValidationException("APEX_BOOTSTRAP_ADMIN_KEY", typeof(ApexOptions),
                [$"APEX_BOOTSTRAP_ADMIN_KEY carries at most {KeyStrength.Bits(weak):0} bits; an admin key needs {KeyStrength.MinimumBits} (e.g. `openssl rand -base64 32`)."]);
        }

        builder.Services.AddSingleton<AuthFailureThrottle>();
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null)
            .AddApexConsoleCookie()
            // The key header when a request carries one, else the console's session cookie (SameSite=Strict):
            // for what both API clients and console pages read, such as a track's audio in the page's player.
            .AddPolicyScheme(KeyOrSession, KeyOrSession, scheme => scheme.ForwardDefaultSelector = context =>
                context.Request.Headers.ContainsKey(ApiKeyAuthentication.Header) ? ApiKeyAuthentication.SchemeName : ConsoleAuth.Scheme);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Reader, p => p.RequireRole(Roles.Reader))
            .AddPolicy(Roles.Ingest, p => p.RequireRole(Roles.Ingest))
            .AddPolicy(Roles.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(ReaderByKeyOrSession, p => p.AddAuthenticationSchemes(KeyOrSession).RequireRole(Roles.Reader));
        builder.Services.AddSingleton<IConsoleKeys, ConsoleKeys>();
        builder.Services.AddSingleton<IConsoleBattles, Apis.ConsoleBattles>();
        builder.Services.AddApexConsole(new ConsoleSettings(options.MaturityDays));
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

        builder.UseOrleans(silo =>
        {
            if (options.IsCluster)
            {
                silo.Configure<ClusterOptions>(cluster =>
                    {
                        cluster.ClusterId = options.ClusterId;
                        cluster.ServiceId = options.ServiceId;
                    })
                    .UseAdoNetClustering(clustering =>
                    {
                        clustering.Invariant = database.Invariant;
                        clustering.ConnectionString = database.ConnectionString;
                    });
                if (options.AdvertisedAddress is { } address)
                {
                    silo.ConfigureEndpoints(System.Net.IPAddress.Parse(address), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
                }
                else
                {
                    silo.ConfigureEndpoints(options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
                }
            }
            else
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort);
            }

            // Orleans' own dashboard (grains, silos, calls), served at /dashboard behind the admin role.
            silo.AddDashboard();
            silo.AddApexScoring(scoringSetup, embeddings)
                .UseSiloMetadata(metadata)
                .AddApexGrainStorage(StorageNames.Tracks, database)
                .AddApexGrainStorage(StorageNames.Arena, database)
                .AddApexGrainStorage(StorageNames.Backfill, database)
                .UseApexReminders(database);
        });

        // Registered after the silo, so they start once it is active and stop before it leaves: nothing
        // calls a grain while the silo cannot place one.
        builder.Services.AddSingleton<PlacementReadiness>();
        builder.Services.AddHostedService<TrainerStartup>();
        builder.Services.AddHostedService<CalibrationMetrics>();
        builder.Services.AddHostedService<Apex.Grains.Populations.PopulationReconciler>();
        builder.Services.AddHostedService<IngestCompaction>();
        builder.Services.AddHostedService<WebhookDispatch>();

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestHandler>();
        // Binding failures reach BadRequestHandler as exceptions, so the answer can name the field.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<StoreUnavailableHandler>();
        builder.Services.AddHealthChecks().AddCheck<ReadinessCheck>("silo", tags: [Apis.HealthApi.ReadyTag]);
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer<ApiKeySecurityScheme>());
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
            // Strict bodies: a field sent twice, a field this API does not have (a typo such as "instrumantal"
            // would otherwise be dropped without a word) and a time without its offset are 400s naming the field.
            json.SerializerOptions.AllowDuplicateProperties = false;
            json.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            json.SerializerOptions.Converters.Add(new ExplicitOffsetTimeConverter());
        });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024);
        // Uploads raise the body limit for their own route; the form reader must allow as much.
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(form => form.MultipartBodyLengthLimit = Apis.TracksApi.MaxUploadBytes);
        return builder;
    }

    /// <summary>Section Apex:Arena: bootstrap size, refit triggers, the per-voter daily cap.</summary>
    private static ArenaOptions ArenaSettings(ConfigurationManager configuration)
    {
        var settings = configuration.GetSection("Apex:Arena").Get<ArenaOptions>() ?? new ArenaOptions();
        if (settings.Bootstrap is < 0 or > 100_000 || settings.RefitEvery < 1 || settings.DailyCapPerVoter < 1 || settings.RefitInterval <= TimeSpan.Zero)
        {
            throw new OptionsValidationException("Apex:Arena", typeof(ArenaOptions), ["Apex:Arena: Bootstrap 0..100000, RefitEvery ≥ 1, DailyCapPerVoter ≥ 1, RefitInterval > 0."]);
        }

        return settings;
    }

    /// <summary>
    /// Section Apex:Embedding. The local profile allows CPU embedders unless told otherwise; the gpu flag
    /// comes from the silo metadata, so the embedders run on CUDA exactly where the cluster places them.
    /// </summary>
    private static ScoringOptions ScoringSettings(ConfigurationManager configuration, ApexOptions options, Dictionary<string, string> metadata)
    {
        var section = configuration.GetSection("Apex:Embedding");
        var settings = section.Get<ScoringOptions>() ?? new ScoringOptions();
        var problems = new List<string>();
        if (settings.Encoder is { } encoder && !File.Exists(encoder))
        {
            problems.Add($"Apex:Embedding:Encoder '{encoder}' does not exist.");
        }

        if (settings.MaxBatch is < 1 or > 256 || settings.QueueCapacity < 1 || settings.DecodeConcurrency < 1 || settings.MaxWait < TimeSpan.Zero || settings.Devices.Any(d => d < 0))
        {
            problems.Add("Apex:Embedding: MaxBatch 1..256, QueueCapacity ≥ 1, DecodeConcurrency ≥ 1, MaxWait ≥ 0 and device indices ≥ 0.");
        }

        var allowCpu = !options.IsCluster;
        if (section["AllowCpu"] is { } allow && !bool.TryParse(allow, out allowCpu))
        {
            problems.Add($"Apex:Embedding:AllowCpu must be true or false (was '{allow}').");
        }

        if (problems.Count > 0)
        {
            throw new OptionsValidationException("Apex:Embedding", typeof(ScoringOptions), problems);
        }

        return settings with
        {
            Gpu = metadata["gpu"] == "true",
            AllowCpu = allowCpu,
            Devices = settings.Devices.Count == 0 ? [0] : settings.Devices,
        };
    }

    /// <summary>
    /// The silo's metadata (section Orleans:Metadata, e.g. ORLEANS__METADATA__gpu=true), published to the
    /// cluster; <c>gpu</c> is always there, true or false, since placement of embedders reads it.
    /// </summary>
    public static Dictionary<string, string> SiloMetadata(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var metadata = configuration.GetSection("Orleans:Metadata").GetChildren()
            .Where(c => c.Value is not null)
            .ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal);
        var gpu = metadata.GetValueOrDefault("gpu", "false");
        if (!bool.TryParse(gpu, out var hasGpu))
        {
            throw new OptionsValidationException("Orleans:Metadata", typeof(Dictionary<string, string>), [$"Orleans:Metadata:gpu must be true or false (was '{gpu}')."]);
        }

        metadata["gpu"] = hasGpu ? "true" : "false";
        return metadata;
    }
}
