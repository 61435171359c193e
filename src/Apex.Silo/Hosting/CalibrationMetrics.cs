using System.Diagnostics.Metrics;
using Apex.Grains;
using Apex.Grains.Scoring;

namespace Apex.Silo.Hosting;

/// <summary>
/// Live calibration as metrics (meter "Apex.Calibration"): every Apex:CalibrationSeconds (30), Pearson and MAE of predicted
/// vs actual popularity over each platform's mature scored tracks, per task. Platforms are few, so they
/// are labels; tracks never are.
/// </summary>
public sealed partial class CalibrationMetrics : BackgroundService
{
    public const string MeterName = "Apex.Calibration";

    private readonly IGrainFactory _grains;
    private readonly IScoreStore _store;
    private readonly IOptions<ApexOptions> _options;
    private readonly ILogger<CalibrationMetrics> _logger;
    private readonly PlacementReadiness _placement;
    private volatile IReadOnlyList<(string Platform, string Task, int Tracks, double? Pearson, double? Mae)> _latest = [];
    private volatile IReadOnlyList<(string Platform, string Task, int Decile, double Predicted, double Actual)> _deciles = [];
    private volatile Apex.Grains.Training.DriftView? _drift;

    public CalibrationMetrics(IGrainFactory grains, IScoreStore store, IOptions<ApexOptions> options, IMeterFactory meters, PlacementReadiness placement, ILogger<CalibrationMetrics> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _placement = placement;
        _grains = grains;
        _store = store;
        _options = options;
        _logger = logger;
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("apex.calibration.pearson", () => Measure(c => c.Pearson), "{coefficient}", "Pearson of predicted vs actual popularity score over mature scored tracks, by platform and task.");
        meter.CreateObservableGauge("apex.calibration.mae", () => Measure(c => c.Mae), "{point}", "Mean absolute error of predicted vs actual popularity score (points), by platform and task.");
        meter.CreateObservableGauge("apex.calibration.tracks", () => Measure(c => c.Tracks), "{track}", "Mature scored tracks with an actual score, by platform and task.");
        meter.CreateObservableGauge("apex.calibration.decile.predicted", () => Deciles(d => d.Predicted), "{point}", "Mean predicted popularity score in each decile of the prediction, by platform and task.");
        meter.CreateObservableGauge("apex.calibration.decile.actual", () => Deciles(d => d.Actual), "{point}", "Mean actual popularity score in each decile of the prediction, by platform and task.");
        meter.CreateObservableGauge("apex.training.drift.new_mature", () => _drift is { } d ? [new Measurement<int>(d.NewMatureSinceLastRun)] : Array.Empty<Measurement<int>>(), "{track}", "Mature scored tracks new since the last training run.");
        meter.CreateObservableGauge("apex.training.drift.moved_share", () => _drift is { } d ? [new Measurement<double>(d.MovedShare)] : Array.Empty<Measurement<double>>(), "{share}", "Share of mature tracks whose popularity moved past the threshold since the last run.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await _placement.WaitAsync(stoppingToken))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.Value.CalibrationSeconds));
        do
        {
            try
            {
                var latest = new List<(string, string, int, double?, double?)>();
                var deciles = new List<(string, string, int, double, double)>();
                foreach (var platform in await _store.PlatformsAsync(stoppingToken))
                {
                    var calibration = await _grains.GetGrain<IPopulationGrain>(platform).GetCalibrationAsync(DateTimeOffset.UtcNow - TimeSpan.FromDays(_options.Value.MaturityDays));
                    foreach (var (task, c) in new[] { ("streams", calibration.Streams), ("likes", calibration.Likes) })
                    {
                        latest.Add((platform, task, c.Tracks, c.Pearson, c.MeanAbsoluteError));
                        deciles.AddRange(c.Deciles.Select(d => (platform, task, d.Decile, d.MeanPredicted, d.MeanActual)));
                    }
                }

                _latest = latest;
                _deciles = deciles;
                _drift = await _grains.GetGrain<Apex.Grains.Training.ITrainerGrain>(0).GetDriftAsync();
            }
            catch (Exception ex) when (StoreUnavailableHandler.IsUnavailable(ex) || ex is OrleansException)
            {
                // A store or silo out of reach for now (readiness reports it): one line, no stack trace.
                LogUnavailable(_logger, ex.GetType().Name, ex.Message);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private IEnumerable<Measurement<double>> Measure(Func<(string Platform, string Task, int Tracks, double? Pearson, double? Mae), double?> value) =>
        _latest.Where(c => value(c) is not null).Select(c => new Measurement<double>(value(c)!.Value,
            new KeyValuePair<string, object?>("platform", c.Platform), new KeyValuePair<string, object?>("task", c.Task)));

    private IEnumerable<Measurement<double>> Deciles(Func<(string Platform, string Task, int Decile, double Predicted, double Actual), double> value) =>
        _deciles.Select(d => new Measurement<double>(value(d),
            new KeyValuePair<string, object?>("platform", d.Platform), new KeyValuePair<string, object?>("task", d.Task),
            new KeyValuePair<string, object?>("decile", d.Decile.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the live calibration failed; the gauges keep their last values")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Calibration not refreshed this time ({Error}: {Reason}); again at the next tick")]
    private static partial void LogUnavailable(ILogger logger, string error, string reason);
}
