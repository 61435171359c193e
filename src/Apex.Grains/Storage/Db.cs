using System.Data.Common;

namespace Apex.Grains.Storage;

/// <summary>The few ADO.NET steps the stores that run on both SQLite and PostgreSQL share.</summary>
public static class Db
{
    public static async Task<DbConnection> OpenAsync(DbProviderFactory factory, string connectionString, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var connection = factory.CreateConnection() ?? throw new InvalidOperationException($"{factory.GetType().Name} made no connection.");
        connection.ConnectionString = connectionString;
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public static void Add(DbCommand command, string name, object value)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Add(command, name, value);
        }

        return command;
    }
}
