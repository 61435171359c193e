namespace Apex.Silo.Hosting;

/// <summary>
/// Background work that calls grains waits for the host to have started (the silo is active, and the
/// cluster's manifest lists its grain types), so that start-up logs no placement failures.
/// </summary>
public static class HostStarted
{
    /// <summary>True once the host has started; false when it is stopping first.</summary>
    public static async Task<bool> WaitAsync(IHostApplicationLifetime lifetime, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(lifetime);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = stoppingToken.Register(() => started.TrySetCanceled(stoppingToken));
        try
        {
            await started.Task;
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
