using Apex.Arena;
using Apex.Grains.Scoring;

namespace Apex.Grains.Arena;

[GenerateSerializer]
[Alias("Apex.Grains.Arena.JudgeState")]
public sealed class JudgeState
{
    [Id(0)]
    public JudgeModel? Model { get; set; }

    /// <summary>The battle log number the model was trained up to.</summary>
    [Id(1)]
    public long TrainedThrough { get; set; }
}

/// <summary>
/// Trains the preference model from the battle log and the tracks' predicted scores (the most recent
/// <see cref="MaxBattles"/> battles with a binary verdict whose two tracks are scored), keeps it durably,
/// and retrains when the log has grown by a tenth (at least 50 battles) since. Training runs off the grain
/// scheduler; the grain is reentrant so that silos can fetch the current model meanwhile.
/// </summary>
[Orleans.Concurrency.Reentrant]
public sealed class JudgeGrain(
    [PersistentState("judge", StorageNames.Tracks)] IPersistentState<JudgeState> state,
    BattleLog log,
    ArenaOptions? options = null) : Grain, IJudgeGrain
{
    public const int MaxBattles = 50_000;

    private Task<JudgeTraining>? _training;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interval = (options ?? new ArenaOptions()).RefitInterval;
        this.RegisterGrainTimer(_ => TrainIfDueAsync(), new GrainTimerCreationOptions(interval, interval) { Interleave = true });
        return Task.CompletedTask;
    }

    Task<JudgeModel?> IJudgeGrain.GetModelAsync() => Task.FromResult(state.State.Model);

    Task<JudgeTraining> IJudgeGrain.TrainAsync() => TrainAsync();

    private async Task TrainIfDueAsync()
    {
        var last = await log.LastSeqAsync();
        var since = last - state.State.TrainedThrough;
        if (since >= Math.Max(50, state.State.TrainedThrough / 10))
        {
            await TrainAsync();
        }
    }

    private Task<JudgeTraining> TrainAsync()
    {
        if (_training is { IsCompleted: false } running)
        {
            return running;
        }

        _training = TrainCoreAsync();
        return _training;
    }

    private async Task<JudgeTraining> TrainCoreAsync()
    {
        var battles = new List<ArenaBattle>();
        long through = 0;
        await foreach (var battle in log.ReadAsync())
        {
            through = battle.Seq;
            if (battle.Winner is 0 or 1 && battle.TrackA is not null && battle.TrackB is not null && battle.Instrumental is not null)
            {
                battles.Add(battle);
            }
        }

        battles = battles.TakeLast(MaxBattles).ToList();
        var tracks = battles.SelectMany(b => new[] { b.TrackA!, b.TrackB! }).Distinct(StringComparer.Ordinal).ToList();
        var scores = new Dictionary<string, TrackScoreRow>(StringComparer.Ordinal);
        foreach (var chunk in tracks.Chunk(500))
        {
            var views = await Task.WhenAll(chunk.Select(t => GrainFactory.GetGrain<ITrackGrain>(t).GetAsync()));
            foreach (var view in views)
            {
                if (view?.Scoring?.Scores is { } s && ScoreRow(view.TrackId, s) is { } row)
                {
                    scores[view.TrackId] = row;
                }
            }
        }

        var usable = battles.Where(b => scores.ContainsKey(b.TrackA!) && scores.ContainsKey(b.TrackB!)).ToList();
        if (usable.Count < 10 || usable.All(b => b.Winner == 0) || usable.All(b => b.Winner == 1))
        {
            // Not advanced: the battles' tracks may be scored by the next check.
            return new JudgeTraining(state.State.Model, usable.Count, $"{usable.Count} recorded battles have a binary verdict and two scored tracks; at least 10, with both verdicts, are needed.");
        }

        var features = usable.Select(b => PreferenceFeatures.Of(scores[b.TrackA!], scores[b.TrackB!], b.Instrumental!.Value)).ToList();
        var labels = usable.Select(b => b.Winner == 0).ToList();
        var now = DateTimeOffset.UtcNow;
        var version = $"pref-{now:yyyyMMdd-HHmmss}-{usable.Count}";
        var model = await Task.Run(() => PreferenceModel.Train(features, labels, version));
        state.State.Model = new JudgeModel(model.Version, model.TrainedOn, model.Mean, model.Scale, model.Weights, model.Bias, now);
        state.State.TrainedThrough = through;
        await state.WriteStateAsync();
        return new JudgeTraining(state.State.Model, usable.Count, null);
    }

    /// <summary>The seven scores of a scored track, by task name; null when the model lacks one (a popularity-only head).</summary>
    public static TrackScoreRow? ScoreRow(string trackId, TrackScores s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return s.Of("streams") is { } streams && s.Of("likes") is { } likes && s.Of("coherence") is { } coherence && s.Of("musicality") is { } musicality
            && s.Of("memorability") is { } memorability && s.Of("clarity") is { } clarity && s.Of("naturalness") is { } naturalness
            ? new TrackScoreRow(trackId, streams, likes, coherence, musicality, memorability, clarity, naturalness)
            : null;
    }
}
