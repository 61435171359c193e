using Orleans.Concurrency;

namespace Apex.Grains.Webhooks;

/// <summary>
/// The one webhook dispatcher of a cluster: it turns new feed events into deliveries and sends the due
/// ones, on a timer that keeps it active. Each silo wakes it now and then, so that it runs again soon
/// after the silo that held it is gone.
/// </summary>
public interface IWebhookDispatcherGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the dispatcher if it is not active; returns at once when it is.</summary>
    [AlwaysInterleave]
    [Alias("EnsureRunningAsync")]
    Task EnsureRunningAsync();
}
