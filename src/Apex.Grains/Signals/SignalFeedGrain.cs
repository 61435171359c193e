namespace Apex.Grains.Signals;

/// <summary>
/// Records signal events in the feed, one call at a time. A host without a feed (a test cluster with no
/// database for it) records nothing.
/// </summary>
public sealed class SignalFeedGrain(SignalFeed? feed = null) : Grain, ISignalFeedGrain
{
    public async Task PublishAsync(IReadOnlyList<SignalEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (feed is not null && events.Count > 0)
        {
            await feed.AppendAsync(events);
        }
    }
}
