using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Apex.Grains.Storage;

/// <summary>Tells a store that is out of reach for now (the server's temporary trouble) from a bug.</summary>
public static class StoreFailure
{
    /// <summary>Whether the exception (or one it wraps) says a store or silo is out of reach for now.</summary>
    public static bool IsUnavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var unavailable = e switch
            {
                // (A PostgresException that crossed silos may have lost its SQL state.)
                PostgresException pg => pg.SqlState is not { Length: >= 2 } state || state[..2] is "08" or "53" or "57" or "40" or "58",
                NpgsqlException => true,
                SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6 or 8 or 10 or 13 or 14,
                // Disk full, read-only file system, I/O error, quota (errno on Unix; disk full on Windows).
                IOException io => io.HResult is 28 or 30 or 5 or 122 or unchecked((int)0x80070070),
                SocketException or TimeoutException => true,
                SiloUnavailableException or OrleansMessageRejectionException => true,
                // A failure inside a grain on another silo arrives as a fallback carrying the type's name.
                Orleans.Serialization.UnavailableExceptionFallbackException fallback => fallback.ExceptionType is { } type && (type.Contains("Npgsql", StringComparison.Ordinal) || type.Contains("Sqlite", StringComparison.Ordinal)),
                _ => false,
            };
            if (unavailable)
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsUnavailable))
            {
                return true;
            }
        }

        return false;
    }
}
