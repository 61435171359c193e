namespace Apex.Silo.Hosting;

/// <summary>
/// Whether Orleans can place a grain on this silo now, read the way placement itself reads it: this
/// silo among the status oracle's active silos and in the cluster manifest. The membership snapshot can
/// show the silo active a moment before both do (longer on a loaded machine), and a grain call made in
/// that moment fails its first placement. Requests (<see cref="ActiveSiloGate"/>) and background work
/// that calls grains wait for it; once the host is stopping it is false for good.
/// </summary>
public sealed class PlacementReadiness(ISiloStatusOracle oracle, IClusterManifestProvider manifests, ILocalSiloDetails silo, IHostApplicationLifetime lifetime)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public bool CanPlace =>
        !lifetime.ApplicationStopping.IsCancellationRequested
        && oracle.GetApproximateSiloStatuses(onlyActive: true).ContainsKey(silo.SiloAddress)
        && manifests.Current.Silos.ContainsKey(silo.SiloAddress);

    /// <summary>True once the host has started and grains can be placed here; false when it stops first.</summary>
    public async Task<bool> WaitAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
                while (!CanPlace)
                {
                    await Task.Delay(Poll, stoppingToken);
                }

                return !stoppingToken.IsCancellationRequested;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }
}
