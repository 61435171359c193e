using System.Diagnostics.Metrics;
using Apex.Grains.Scoring;
using Microsoft.Extensions.Logging;

namespace Apex.Scoring;

/// <summary>
/// The model host a silo registers: whichever checkpoint the registry serves, swapped in atomically
/// when the registry changes (<see cref="RefreshAsync"/>): a prediction in flight finishes on the head
/// it started with; a checkpoint that fails to load leaves the old one serving, and says so.
/// </summary>
public sealed partial class ServingModelHost : IModelHost, IDisposable
{
    public const string MeterName = "Apex.Scoring";

    private readonly ModelRegistry registry;
    private readonly ILogger<ServingModelHost> logger;
    private readonly Counter<long> _predictions;

    public ServingModelHost(ModelRegistry registry, ILogger<ServingModelHost> logger, IMeterFactory? meters = null)
    {
        this.registry = registry;
        this.logger = logger;
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _predictions = meter.CreateCounter<long>("apex.scoring.predictions", "{track}", "Tracks scored by this silo's model host, by model version.");
        // One series per silo: 1 with the serving version and label as attributes (versions are few).
        meter.CreateObservableGauge("apex.model.serving", () => Serving is { } s
            ? [new Measurement<int>(1, new KeyValuePair<string, object?>("version", s.Version), new KeyValuePair<string, object?>("label", s.Label ?? "none"))]
            : Array.Empty<Measurement<int>>(), "{model}", "The model version this silo serves (value 1; version and label as attributes).");
    }

    private ModelHost? _current;
    private string? _currentDirectory;

    /// <summary>Why the last refresh could not load the serving checkpoint (null when it could).</summary>
    public string? LoadError { get; private set; }

    public (string Version, string? Label)? Serving => Volatile.Read(ref _current)?.Serving;

    public TrackScores Predict(EmbedOutcome embedding, string embeddingRef, DateTimeOffset now)
    {
        var host = Volatile.Read(ref _current) ?? throw new InvalidOperationException("No model is serving yet.");
        var scores = host.Predict(embedding, embeddingRef, now);
        // A swap may retire this host mid-prediction; it must stay reachable (not finalized, its modules
        // and weights not freed) until libtorch is done with it.
        GC.KeepAlive(host);
        _predictions.Add(1, new KeyValuePair<string, object?>("model", scores.ModelVersion));
        return scores;
    }

    /// <summary>Loads the registry's serving checkpoint if it is not the one loaded; true when it swapped.</summary>
    public Task<bool> RefreshAsync()
    {
        var directory = registry.ServingDirectory();
        if (directory is null || directory == _currentDirectory)
        {
            return Task.FromResult(false);
        }

        try
        {
            var next = new ModelHost(directory);
            var previous = Interlocked.Exchange(ref _current, next);
            _currentDirectory = directory;
            LoadError = null;
            LogServing(logger, next.Serving!.Value.Version, next.Serving.Value.Label ?? "-");
            // The previous head may still be in a prediction on another thread: it is left to the GC, not disposed.
            GC.KeepAlive(previous);
            return Task.FromResult(true);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or InvalidOperationException or ArgumentException)
        {
            LoadError = $"{directory}: {ex.Message}";
            LogLoadFailed(logger, directory, ex);
            return Task.FromResult(false);
        }
    }

    public void Dispose() => _current?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving model {Version} (label {Label})")]
    private static partial void LogServing(ILogger logger, string version, string label);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not load the serving model {Directory}; the previous one keeps serving")]
    private static partial void LogLoadFailed(ILogger logger, string directory, Exception exception);
}
