using Apex.Grains.Ingest;
using Apex.Grains.Storage;
using Apex.Silo.Auth;

namespace Apex.Silo.Hosting;

/// <summary>
/// The host's start-up step for its stores, run once after the services are built and before the host
/// starts (nothing is served, no silo joins, until it succeeds), once the settings are valid. The stores must agree: the cluster's
/// database carries this build's schema and every registered track is known to its ingest log; the
/// local data folder's stores belong to one data set (a new folder gets one) and get every schema
/// script. Stores that do not agree stop the host (<see cref="StoreDisagreementException"/>), naming
/// the store and the way out, before anything could be served from them. Last, the ingest log guards
/// its file and a fresh deployment stores its bootstrap admin key.
/// </summary>
public sealed class StoreStartup(IOptions<ApexOptions> options, IIngestLog log, ApiKeyStore keys, IConfiguration configuration)
{
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        if (settings.IsCluster)
        {
            // The schema is `apex db init`'s job (a Kubernetes Job), not every silo's: a silo only checks it.
            if (await StoreAgreement.CheckPostgresAsync(settings.Postgres!, cancellationToken) is { Agree: false } report)
            {
                throw new StoreDisagreementException(report);
            }
        }
        else
        {
            var dataDir = Directory.CreateDirectory(settings.DataDir).FullName;
            // A store lost or replaced (an empty ingest log beside registered tracks) stops the host
            // before anything is created; a new data folder gets its data set here.
            if (await StoreAgreement.CheckLocalAsync(dataDir, cancellationToken) is { Agree: false } report)
            {
                throw new StoreDisagreementException(report);
            }

            await StoreAgreement.StampLocalAsync(dataDir, cancellationToken);
        }

        await log.PrepareAsync(cancellationToken);
        if (configuration["APEX_BOOTSTRAP_ADMIN_KEY"] is { Length: > 0 } bootstrap && await keys.BootstrapAsync(bootstrap, cancellationToken))
        {
            await Console.Error.WriteLineAsync("Stored the bootstrap admin key from APEX_BOOTSTRAP_ADMIN_KEY (fresh data folder).");
        }
    }
}
