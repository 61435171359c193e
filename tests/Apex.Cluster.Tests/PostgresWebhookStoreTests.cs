using Apex.Grains.Signals;
using Apex.Grains.Storage;
using Apex.Grains.Webhooks;
using Apex.Testing;

namespace Apex.Cluster.Tests;

public sealed class PostgresWebhookStoreTests(ThrowawayPostgres postgres) : WebhookStoreContract, IClassFixture<ThrowawayPostgres>
{
    protected override async Task<(SignalFeed Feed, WebhookStore Store)> OpenAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await PostgresSchema.ApplyAsync(connectionString);
        return (SignalFeed.OpenPostgres(connectionString), WebhookStore.OpenPostgres(connectionString));
    }
}
