using Npgsql;

namespace Apex.Grains.Storage;

/// <summary>
/// The PostgreSQL side of Orleans' ADO.NET grain storage and reminders (invariant Npgsql): the project's
/// own schema, <c>Storage/Sql/postgresql-schema.sql</c>, which <c>apex db init</c> applies.
/// </summary>
public static class PostgresGrainStorage
{
    public const string Invariant = "Npgsql";

    /// <summary>Creates the tables and stored queries if missing; safe to run again.</summary>
    public static async Task ApplySchemaAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(SqlScripts.Read("postgresql-schema.sql"), connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
