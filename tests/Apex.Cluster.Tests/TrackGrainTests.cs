using Apex.Grains;

namespace Apex.Cluster.Tests;

public sealed class TrackGrainTests : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-cluster-{Guid.NewGuid():N}.db");
    private readonly string _serviceId = "apex-test-" + Guid.NewGuid().ToString("N")[..8];

    private static readonly TrackRegistration Song = new("suno", new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero), "media/song.mp3", Instrumental: false);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteCluster.DeleteFiles(_database);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_registered_track_is_read_back_and_a_retry_is_a_no_op()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, _serviceId);
        var track = cluster.Client.GetGrain<ITrackGrain>("track-1");

        var first = await track.RegisterAsync(Song);
        var retry = await track.RegisterAsync(Song);

        Assert.True(first.Created);
        Assert.False(retry.Created);
        Assert.Equal(first.Track, retry.Track);
        Assert.Equal(first.Track, await track.GetAsync());
        Assert.Equal("suno", first.Track.Platform);
        Assert.Null(await cluster.Client.GetGrain<ITrackGrain>("never-registered").GetAsync());
    }

    [Fact]
    public async Task A_conflicting_registration_is_refused_and_changes_nothing()
    {
        await using var cluster = await SqliteCluster.StartAsync(_database, _serviceId);
        var track = cluster.Client.GetGrain<ITrackGrain>("track-2");
        var stored = (await track.RegisterAsync(Song)).Track;

        await Assert.ThrowsAsync<TrackConflictException>(() => track.RegisterAsync(Song with { Platform = "udio" }));

        Assert.Equal(stored, await track.GetAsync());
    }

    [Fact]
    public async Task Registrations_survive_a_full_cluster_restart_in_sqlite()
    {
        TrackView stored;
        await using (var cluster = await SqliteCluster.StartAsync(_database, _serviceId))
        {
            stored = (await cluster.Client.GetGrain<ITrackGrain>("track-3").RegisterAsync(Song)).Track;
            for (var i = 0; i < 20; i++)
            {
                await cluster.Client.GetGrain<ITrackGrain>($"bulk-{i}").RegisterAsync(Song with { AudioLocation = $"media/{i}.mp3" });
            }
        }

        await using var restarted = await SqliteCluster.StartAsync(_database, _serviceId);

        Assert.Equal(stored, await restarted.Client.GetGrain<ITrackGrain>("track-3").GetAsync());
        Assert.Equal("media/17.mp3", (await restarted.Client.GetGrain<ITrackGrain>("bulk-17").GetAsync())!.AudioLocation);
    }

    [Fact]
    public async Task Another_service_id_does_not_see_the_state()
    {
        await using (var cluster = await SqliteCluster.StartAsync(_database, _serviceId))
        {
            await cluster.Client.GetGrain<ITrackGrain>("track-4").RegisterAsync(Song);
        }

        await using var other = await SqliteCluster.StartAsync(_database, _serviceId + "-other", silos: 1);

        Assert.Null(await other.Client.GetGrain<ITrackGrain>("track-4").GetAsync());
    }
}
