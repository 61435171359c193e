using System.Collections.Concurrent;
using Apex.Grains.Storage;
using Orleans.TestingHost;

namespace Apex.Cluster.Tests;

[Alias("Apex.Cluster.Tests.IAlarmGrain")]
public interface IAlarmGrain : IGrainWithStringKey
{
    [Alias("SetAsync")]
    Task SetAsync(TimeSpan due, TimeSpan period);

    [Alias("ClearAsync")]
    Task ClearAsync();

    [Alias("IsSetAsync")]
    Task<bool> IsSetAsync();
}

public sealed class AlarmGrain : Grain, IAlarmGrain, IRemindable
{
    public static readonly ConcurrentDictionary<string, int> Fired = new();

    public async Task SetAsync(TimeSpan due, TimeSpan period) => await this.RegisterOrUpdateReminder("alarm", due, period);

    public async Task ClearAsync()
    {
        if (await this.GetReminder("alarm") is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public async Task<bool> IsSetAsync() => await this.GetReminder("alarm") is not null;

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Fired.AddOrUpdate(this.GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}

/// <summary>The local profile's reminders live in SQLite under the project's own reminder schema.</summary>
public sealed class ReminderTests : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"apex-reminders-{Guid.NewGuid():N}.db");
    private readonly string _serviceId = "apex-test-" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteCluster.DeleteFiles(_database);
        return Task.CompletedTask;
    }

    private async Task<InProcessTestCluster> StartAsync()
    {
        var connectionString = SqliteGrainStorage.ConnectionString(_database);
        await SqliteGrainStorage.ApplySchemaAsync(connectionString);
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = _serviceId;
        builder.Options.ClusterId = "test-" + Guid.NewGuid().ToString("N");
        builder.ConfigureSilo((_, silo) => silo
            .UseApexReminders(AdoNetDatabase.Sqlite(connectionString))
            .Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1)));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    [Fact]
    public async Task A_reminder_fires_and_survives_a_cluster_restart_until_cleared()
    {
        await using (var cluster = await StartAsync())
        {
            var alarm = cluster.Client.GetGrain<IAlarmGrain>("a1");
            await alarm.SetAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            for (var i = 0; i < 100 && AlarmGrain.Fired.GetValueOrDefault("a1") < 2; i++)
            {
                await Task.Delay(100);
            }

            Assert.True(AlarmGrain.Fired.GetValueOrDefault("a1") >= 2, "the reminder should fire every second");
        }

        await using (var restarted = await StartAsync())
        {
            var alarm = restarted.Client.GetGrain<IAlarmGrain>("a1");
            Assert.True(await alarm.IsSetAsync());
            await alarm.ClearAsync();
            Assert.False(await alarm.IsSetAsync());
        }

        await using var again = await StartAsync();
        Assert.False(await again.Client.GetGrain<IAlarmGrain>("a1").IsSetAsync());
    }
}
