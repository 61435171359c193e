using System.ComponentModel.DataAnnotations;

namespace Apex.Grains.Webhooks;

/// <summary>Settings Apex:Webhooks: where deliveries may go, how they are retried and how long they are kept.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Apex:Webhooks";

    /// <summary>Allows loopback targets (receivers on the cluster's own hosts); link-local and the rest stay refused.</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>The wait after the first failed attempt; each further failure doubles it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan RetryBase { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between two attempts.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "7.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Attempts before a delivery is given up (status failed); the defaults span about 15 hours.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 20;

    /// <summary>How long one attempt may take, connection included.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts in flight at once.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 8;

    /// <summary>How often the dispatcher looks for new events and due deliveries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan Poll { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Delivered and failed deliveries are kept this many days (GET /subscriptions/{id}/deliveries), then deleted.</summary>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 14;

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1 after <paramref name="attempt"/> failures: doubling from <see cref="RetryBase"/>, at most <see cref="MaxRetryDelay"/>, less up to a fifth at random so that failed receivers are not hit in step.</summary>
    public TimeSpan RetryDelay(int attempt, double random)
    {
        var doubled = RetryBase.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 40));
        var delay = Math.Min(doubled, MaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(delay * (1 - 0.2 * Math.Clamp(random, 0, 1)));
    }
}
