using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Apex.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Apex.Cluster.Tests;

/// <summary>
/// The backfill gives way to tracks registered live wherever their grains are active: each silo reports
/// its live queue, and the backfill (one grain, on one silo) admits only its reserved share while any
/// silo has live tracks waiting. On the cluster profile, two silos, no embedder (so nothing leaves the queue).
/// </summary>
public sealed class BackfillPriorityTests(ServedModel model, ThrowawayPostgres postgres, ITestOutputHelper output) : IClassFixture<ServedModel>, IClassFixture<ThrowawayPostgres>
{
    private const int Live = 10;
    private const int Catalogue = 20;

    [Fact]
    public async Task Live_tracks_queued_on_any_silo_hold_the_backfill_to_its_reserved_share()
    {
        await using var cluster = await ScoringCluster.StartWithoutEmbedderAsync(model.Folder, postgres);
        var created = DateTimeOffset.UtcNow.AddDays(-1);
        await Task.WhenAll(Enumerable.Range(0, Live).Select(i => cluster.Client.GetGrain<ITrackGrain>($"live-{i}").RegisterAsync(new TrackRegistration("suno", created, "sorohan-solo-trumpet-06.ogg", null))));
        // A registered track queues itself on its grain's first scoring tick, just after registration answers.
        List<int> PerSilo() => [.. cluster.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<ScoringWaiters>().LiveQueued())];
        var queuedBy = DateTime.UtcNow.AddSeconds(10);
        while (PerSilo().Sum() != Live && DateTime.UtcNow < queuedBy)
        {
            await Task.Delay(100);
        }

        var perSilo = PerSilo();
        output.WriteLine($"live tracks queued per silo: {string.Join(", ", perSilo)}");
        Assert.Equal(Live, perSilo.Sum());

        var registered = await cluster.Log.RegisterCatalogueAsync(
            [.. Enumerable.Range(0, Catalogue).Select(i => new CatalogueEntry($"cat-{i:D2}", new TrackRegistration("suno", created, "sorohan-solo-trumpet-06.ogg", null)))], DateTimeOffset.UtcNow);
        Assert.All(registered.Outcomes, o => Assert.Equal(CatalogueOutcome.Created, o));
        var backfill = cluster.Client.GetGrain<IBackfillGrain>(0);
        await backfill.WakeAsync();

        // Every silo's live tracks count, not only those on the backfill's silo: one admitted, no more.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        BackfillView view;
        while ((view = await backfill.GetAsync()).LiveQueued != Live || view.Admitted == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the backfill did not see the cluster's live queue: {view}");
            await Task.Delay(250);
        }

        await Task.Delay(TimeSpan.FromSeconds(4));
        view = await backfill.GetAsync();
        Assert.Equal((Live, 1, 1L, Catalogue - 1L), (view.LiveQueued, view.InFlight, view.Admitted, view.Queued));
        Assert.True(DateTimeOffset.UtcNow - view.OldestLiveSince >= TimeSpan.FromSeconds(4), $"the oldest live wait is not the cluster's: {view}");
        Assert.Equal(1, cluster.Cluster.Silos.Sum(s => s.ServiceProvider.GetRequiredService<ScoringWaiters>().Counts().Values.Sum()) - Live);
    }
}
