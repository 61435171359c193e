using Apex.Grains.Training;
using Apex.Training.Checkpoints;

namespace Apex.Web.Data;

/// <summary>The registry (versions with their manifests and status, the served history), the trainer's runs, drift and rollout.</summary>
public sealed record ModelsData(
    string? Serving,
    IReadOnlyList<(CheckpointManifest Manifest, string Status)> Versions,
    IReadOnlyList<(DateTimeOffset At, string Version)> History,
    IReadOnlyList<TrainingRunView> Runs,
    DriftView Drift,
    RolloutView? Rollout);
