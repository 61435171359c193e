using System.ComponentModel.DataAnnotations;

namespace Apex.Silo.Hosting;

/// <summary>The host's settings (section "Apex"; environment variables Apex__DataDir, … ; --Apex:DataDir=…).</summary>
public sealed class ApexOptions : IValidatableObject
{
    public const string Section = "Apex";

    /// <summary>local: one silo, SQLite under <see cref="DataDir"/>. cluster: PostgreSQL (not available yet).</summary>
    [Required]
    public string Profile { get; set; } = "local";

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

    /// <summary>Minutes between compactions of the ingest log to each track's dedup window.</summary>
    [Range(1, 24 * 60)]
    public int CompactionMinutes { get; set; } = 10;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Profile is not ("local" or "cluster"))
        {
            yield return new ValidationResult($"Apex:Profile must be 'local' or 'cluster' (was '{Profile}').", [nameof(Profile)]);
        }

        if (Profile == "cluster")
        {
            yield return new ValidationResult("Apex:Profile 'cluster' (PostgreSQL) is not available in this build yet; use 'local'.", [nameof(Profile)]);
        }

        if (MediaRoot is not null && !Directory.Exists(MediaRoot))
        {
            yield return new ValidationResult($"Apex:MediaRoot '{MediaRoot}' is not a folder.", [nameof(MediaRoot)]);
        }
    }
}
