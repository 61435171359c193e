using System.ComponentModel.DataAnnotations;
using System.Text.Json;
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
        builder.Services.AddSingleton<EventIngestor>();

        builder.UseOrleans(silo => silo
            .UseLocalhostClustering()
            .AddApexSqliteGrainStorage(StorageNames.Tracks, grainDb));

        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024);
        return builder;
    }
}
