using Apex.Grains.Signals;

namespace Apex.Cluster.Tests;

/// <summary>What the signal feed promises, checked on each database (the subclasses).</summary>
public abstract class SignalFeedContract
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    protected abstract Task<SignalFeed> OpenAsync();

    private static SignalEvent Event(string type, string key, string? platform = "suno") => new(0, type, key, platform, "t1", At, $$"""{"key":"{{key}}"}""");

    [Fact]
    public async Task Events_are_recorded_once_per_key_numbered_in_order_and_read_after_a_number_with_filters()
    {
        var feed = await OpenAsync();
        Assert.Equal(0, await feed.LastSeqAsync());
        await feed.AppendAsync([Event(SignalEvent.Breakout, "b1"), Event(SignalEvent.Scored, "s1", "udio")]);
        await feed.AppendAsync([Event(SignalEvent.Breakout, "b1"), Event(SignalEvent.ModelPromoted, "m1", null), Event(SignalEvent.Scored, "s2")]);

        var all = await feed.ReadAfterAsync(0, 100);
        Assert.Equal(["b1", "s1", "m1", "s2"], all.Select(e => e.Key));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Seq < p.Second.Seq));
        Assert.Equal(all[^1].Seq, await feed.LastSeqAsync());
        Assert.Equal(new SignalEvent(all[0].Seq, SignalEvent.Breakout, "b1", "suno", "t1", At, """{"key":"b1"}"""), all[0]);
        Assert.Equal(["m1", "s2"], (await feed.ReadAfterAsync(all[1].Seq, 100)).Select(e => e.Key));
        Assert.Equal(["b1", "s2"], (await feed.ReadAfterAsync(0, 100, platform: "suno")).Select(e => e.Key));
        Assert.Equal(["s1", "s2"], (await feed.ReadAfterAsync(0, 100, types: [SignalEvent.Scored])).Select(e => e.Key));
        // A limit counts matching events, reading on past those that do not match.
        Assert.Equal(["s2"], (await feed.ReadAfterAsync(all[0].Seq, 1, platform: "suno")).Select(e => e.Key));
        Assert.Empty(await feed.ReadAfterAsync(all[^1].Seq, 100));
    }
}
