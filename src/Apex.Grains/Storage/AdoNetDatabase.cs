using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Apex.Grains.Storage;

/// <summary>A database for Orleans' ADO.NET providers: its invariant (which driver) and connection string.</summary>
public sealed record AdoNetDatabase(string Invariant, string ConnectionString)
{
    public static AdoNetDatabase Sqlite(string connectionString) => new(SqliteGrainStorage.Invariant, connectionString);

    public static AdoNetDatabase Postgres(string connectionString) => new(PostgresSchema.Invariant, connectionString);
}

public static class AdoNetSiloBuilderExtensions
{
    /// <summary>
    /// Grain storage <paramref name="name"/> in <paramref name="database"/>, whose schema the project applies.
    /// Database drivers' exceptions also cross silos as themselves (Orleans refuses exception types of
    /// namespaces it does not know), so a caller on another silo can tell a database outage from a bug.
    /// </summary>
    public static ISiloBuilder AddApexGrainStorage(this ISiloBuilder builder, string name, AdoNetDatabase database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(database);
        builder.Services.Configure<ExceptionSerializationOptions>(o =>
        {
            o.SupportedNamespacePrefixes.Add("Npgsql");
            o.SupportedNamespacePrefixes.Add("Microsoft.Data.Sqlite");
        });
        return builder.AddAdoNetGrainStorage(name, options =>
        {
            options.Invariant = database.Invariant;
            options.ConnectionString = database.ConnectionString;
        });
    }

    /// <summary>Durable reminders in <paramref name="database"/>.</summary>
    public static ISiloBuilder UseApexReminders(this ISiloBuilder builder, AdoNetDatabase database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(database);
        return builder.UseAdoNetReminderService(options =>
        {
            options.Invariant = database.Invariant;
            options.ConnectionString = database.ConnectionString;
        });
    }
}
