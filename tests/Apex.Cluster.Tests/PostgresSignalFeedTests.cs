using Apex.Grains.Signals;
using Apex.Grains.Storage;
using Apex.Testing;

namespace Apex.Cluster.Tests;

public sealed class PostgresSignalFeedTests(ThrowawayPostgres postgres) : SignalFeedContract, IClassFixture<ThrowawayPostgres>
{
    protected override async Task<SignalFeed> OpenAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await PostgresSchema.ApplyAsync(connectionString);
        return SignalFeed.OpenPostgres(connectionString);
    }
}
