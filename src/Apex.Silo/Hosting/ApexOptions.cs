using System.ComponentModel.DataAnnotations;

namespace Apex.Silo.Hosting;

/// <summary>The host's settings (section "Apex"; environment variables Apex__DataDir, … ; --Apex:DataDir=…).</summary>
public sealed class ApexOptions : IValidatableObject
{
    public const string Section = "Apex";

    /// <summary>
    /// local: one silo, localhost clustering, everything in SQLite under <see cref="DataDir"/>.
    /// cluster: any number of silos sharing the PostgreSQL database <see cref="Postgres"/> (membership,
    /// grain state, reminders, ingest log, API keys).
    /// </summary>
    [Required]
    public string Profile { get; set; } = "local";

    /// <summary>The cluster profile's PostgreSQL connection string (prepared by <c>apex db init</c>).</summary>
    public string? Postgres { get; set; }

    /// <summary>The cluster this silo joins (cluster profile): silos with the same id find each other.</summary>
    [Required]
    public string ClusterId { get; set; } = "apex";

    /// <summary>The service whose grain state and reminders this is; keep it across deployments (cluster profile).</summary>
    [Required]
    public string ServiceId { get; set; } = "apex";

    /// <summary>Silo-to-silo port.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Orleans client gateway port.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The IP address other silos reach this one at (cluster profile; e.g. the pod IP). Default: this host's first address.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>The model registry folder (head checkpoints and the SERVING pointer); shared by all silos in the cluster profile. Default: {DataDir}/models.</summary>
    public string? ModelsDir { get; set; }

    /// <summary>
    /// When nothing serves yet, train and serve a head on the synthetic dataset, labelled synthetic-demo
    /// (default: on in the local profile, off in the cluster profile).
    /// </summary>
    public bool? SyntheticDemo { get; set; }

    public bool IsCluster => Profile == "cluster";

    [Required]
    public string DataDir { get; set; } = "./data";

    /// <summary>Folder that registered audio paths are relative to; paths outside it are refused.</summary>
    public string? MediaRoot { get; set; }

    /// <summary>Most events in one POST /events.</summary>
    [Range(1, 100_000)]
    public int MaxEventsPerBatch { get; set; } = 10_000;

    /// <summary>Tracks older than this many days are mature: their popularity is a label (the paper's recency rule).</summary>
    [Range(0, 3650)]
    public int MaturityDays { get; set; } = 14;

    /// <summary>Requests per second each API key may make (token bucket; answers 429 with Retry-After past it).</summary>
    [Range(1, 1_000_000)]
    public int RequestsPerSecondPerKey { get; set; } = 200;

    /// <summary>How many requests a key may make at once above its rate.</summary>
    [Range(1, 1_000_000)]
    public int BurstPerKey { get; set; } = 400;

    /// <summary>Seconds between readings of the live calibration for the metrics.</summary>
    [Range(1, 3600)]
    public int CalibrationSeconds { get; set; } = 30;

    /// <summary>
    /// Readiness fails while the data folder's file system has less free space than this (bytes; default
    /// 64 MiB): the load balancer stops sending before writes fail, and sends again once space returns.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MinFreeDiskBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How far ahead of this host's clock an event's ts may be; a later one is rejected on its own (the rest of its batch is logged).</summary>
    [Range(0, 24 * 60)]
    public int EventClockSkewMinutes { get; set; } = 5;

    /// <summary>Days a track's curve keeps its hourly buckets (GET /tracks/{id}/timeline).</summary>
    [Range(1, 366)]
    public int TimelineHourlyDays { get; set; } = 14;

    /// <summary>Days a track's curve keeps its daily buckets.</summary>
    [Range(1, 36_600)]
    public int TimelineDailyDays { get; set; } = 730;

    /// <summary>Minutes between compactions of the ingest log to each track's dedup window.</summary>
    [Range(1, 24 * 60)]
    public int CompactionMinutes { get; set; } = 10;

    /// <summary>
    /// Reverse proxies (addresses or CIDR networks, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client.
    /// Empty (the default): the peer address is the client, and X-Forwarded-For is ignored, so a client cannot
    /// pick the address its failed authentications count against.
    /// </summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>The trusted proxies as networks (a bare address is its own /32 or /128).</summary>
    public IReadOnlyList<System.Net.IPNetwork> TrustedProxyNetworks() =>
        [.. TrustedProxies.Select(p => ProxyNetwork(p) ?? throw new FormatException($"Apex:TrustedProxies: '{p}' is not an address or CIDR network."))];

    private static System.Net.IPNetwork? ProxyNetwork(string value) =>
        System.Net.IPNetwork.TryParse(value, out var network) ? network
        : System.Net.IPAddress.TryParse(value, out var address) ? new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
        : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var proxy in TrustedProxies.Where(p => ProxyNetwork(p) is null))
        {
            yield return new ValidationResult($"Apex:TrustedProxies: '{proxy}' is not an IP address or CIDR network (e.g. 10.0.0.0/8).", [nameof(TrustedProxies)]);
        }

        if (Profile is not ("local" or "cluster"))
        {
            yield return new ValidationResult($"Apex:Profile must be 'local' or 'cluster' (was '{Profile}').", [nameof(Profile)]);
        }

        if (IsCluster && string.IsNullOrWhiteSpace(Postgres))
        {
            yield return new ValidationResult("Apex:Profile 'cluster' needs Apex:Postgres, the PostgreSQL connection string (environment variable Apex__Postgres).", [nameof(Postgres)]);
        }

        if (IsCluster && Postgres is { Length: > 0 } && !IsConnectionString(Postgres))
        {
            yield return new ValidationResult("Apex:Postgres is not a valid PostgreSQL connection string (expected e.g. \"Host=db;Username=apex;Password=…;Database=apex\").", [nameof(Postgres)]);
        }

        if (AdvertisedAddress is not null && !System.Net.IPAddress.TryParse(AdvertisedAddress, out _))
        {
            yield return new ValidationResult($"Apex:AdvertisedAddress must be an IP address (was '{AdvertisedAddress}').", [nameof(AdvertisedAddress)]);
        }

        if (SiloPort == GatewayPort)
        {
            yield return new ValidationResult($"Apex:SiloPort and Apex:GatewayPort must differ (both {SiloPort}).", [nameof(SiloPort), nameof(GatewayPort)]);
        }

        if (MediaRoot is not null && !Directory.Exists(MediaRoot))
        {
            yield return new ValidationResult($"Apex:MediaRoot '{MediaRoot}' is not a folder.", [nameof(MediaRoot)]);
        }
    }

    private static bool IsConnectionString(string value)
    {
        try
        {
            return new Npgsql.NpgsqlConnectionStringBuilder(value).Host is { Length: > 0 };
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
