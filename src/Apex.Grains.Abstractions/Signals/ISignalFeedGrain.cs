namespace Apex.Grains.Signals;

/// <summary>
/// The one writer of the signal feed: events are recorded one call at a time, so their numbers follow
/// the order they became visible in (what a reader resuming after a number relies on).
/// </summary>
public interface ISignalFeedGrain : IGrainWithIntegerKey
{
    /// <summary>Records the events whose key is new (a repeat is a no-op), durable when it returns.</summary>
    [Alias("PublishAsync")]
    Task PublishAsync(IReadOnlyList<SignalEvent> events);
}
