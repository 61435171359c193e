using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Apex.Arena;
using Apex.Grains;
using Apex.Grains.Arena;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>POST /battles, GET /leaderboards/{scope}, POST /judge.</summary>
public static class ArenaApi
{
    public const int MaxBattlesPerBatch = 10_000;
    public const int MaxPairsPerJudge = 100_000;

    /// <summary>
    /// One battle, in either format (one per battle): FastChat's <c>model_a, model_b, winner,
    /// track_a, track_b</c> or the documented <c>a_system, b_system, vote, a_track, b_track</c>.
    /// </summary>
    // FastChat/LMArena battle records carry more fields than a battle needs (question_id, tstamp, judge,
    // conversation_a, …): exported files are posted as they are, so unknown fields are skipped here only.
    [System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip)]
    public sealed record BattleRequest(
        [property: Required, StringLength(Domains.MaxClientId, MinimumLength = 1), Description("The client's id: 1 to 200 characters, no control characters or bidirectional overrides.")] string? BattleId,
        [property: StringLength(Domains.MaxSystem, MinimumLength = 1), Description("FastChat format: track A's system, 1 to 200 characters, no control characters or bidirectional overrides (trimmed). May equal model_b: leaderboards skip such a battle.")] string? ModelA = null,
        [property: StringLength(Domains.MaxSystem, MinimumLength = 1), Description("FastChat format: track B's system.")] string? ModelB = null,
        [property: AllowedValues("model_a", "model_b", "tie", "both_bad", "tie (bothbad)"), Description("FastChat format; \"tie (bothbad)\" is both_bad (left out of ratings).")] string? Winner = null,
        bool? Instrumental = null,
        [property: StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern), Description("FastChat format: track A's id.")] string? TrackA = null,
        [property: StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern), Description("FastChat format: track B's id.")] string? TrackB = null,
        [property: StringLength(VoterIds.MaxLength, MinimumLength = 1), Description("Normalised (NFKC, trimmed, case-folded) and kept only as a hash; capped per UTC day.")] string? Voter = null,
        [property: StringLength(Domains.MaxSystem, MinimumLength = 1), Description("Documented format: track A's system (instead of model_a).")] string? ASystem = null,
        [property: StringLength(Domains.MaxSystem, MinimumLength = 1), Description("Documented format: track B's system.")] string? BSystem = null,
        [property: AllowedValues("a", "b", "tie", "both_bad"), Description("Documented format: the vote (instead of winner).")] string? Vote = null,
        [property: StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern), Description("Documented format: track A's id.")] string? ATrack = null,
        [property: StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern), Description("Documented format: track B's id.")] string? BTrack = null);

    public sealed record BattlesRequest([property: Required, Description("1 to 10,000 battles.")] IReadOnlyList<BattleRequest?>? Battles);

    public sealed record BattleRejection(int Index, string BattleId, string Reason);

    public sealed record BattleConflict(int Index, string BattleId);

    /// <summary>Per-battle outcomes: accepted, duplicate (the same battle as logged), conflict (the id was logged with another battle: not counted, listed), rejected (the voter's daily cap).</summary>
    public sealed record BattlesResponse(int Accepted, int Duplicate, int Conflict, int Rejected, IReadOnlyList<BattleRejection> Rejections, IReadOnlyList<BattleConflict> Conflicts);

    public sealed record ScoreVector(
        [property: Range(0.0, 100.0)] double Streams,
        [property: Range(0.0, 100.0)] double Likes,
        [property: Range(1.0, 5.0)] double Coherence,
        [property: Range(1.0, 5.0)] double Musicality,
        [property: Range(1.0, 5.0)] double Memorability,
        [property: Range(1.0, 5.0)] double Clarity,
        [property: Range(1.0, 5.0)] double Naturalness);

    public sealed record JudgePair(
        [property: StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern)] string? TrackA,
        [property: StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern)] string? TrackB,
        ScoreVector? ScoresA,
        ScoreVector? ScoresB,
        [property: Required] bool? Instrumental);

    public sealed record JudgeRequest([property: Required] IReadOnlyList<JudgePair?>? Pairs);

    public sealed record JudgeResponse(string ModelVersion, int TrainedOnBattles, IReadOnlyList<double?> PreferA, IReadOnlyList<string?> Errors);

    private static readonly string[] Winners = ["model_a", "model_b", "tie", "both_bad"];

    // The documented format's votes, in the order of Winners.
    private static readonly string[] Votes = ["a", "b", "tie", "both_bad"];

    public static IEndpointRouteBuilder MapArenaApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/battles", RecordAsync)
            .WithName("RecordBattles")
            .WithSummary("Record a batch of pairwise battles (idempotent by battle_id; an optional voter is stored hashed and capped per day).")
            .WithTags("arena")
            .RequireAuthorization(Roles.Ingest);
        app.MapGet("/leaderboards/{scope}", LeaderboardAsync)
            .WithName("Leaderboard")
            .WithSummary("Bradley-Terry ratings with 95 % bootstrap intervals, Elo, battle counts and the last refit time (scope: overall, instrumental, vocal).")
            .WithTags("arena")
            .RequireAuthorization(Roles.Reader);
        app.MapPost("/judge", JudgeAsync)
            .WithName("Judge")
            .WithSummary("Probability that A is preferred, for pairs of scored track ids or raw score vectors, from the preference model trained on the recorded battles.")
            .WithTags("arena")
            .RequireAuthorization(Roles.Reader);
        return app;
    }

    private static async Task<Results<Ok<BattlesResponse>, ValidationProblem>> RecordAsync(
        BattlesRequest request, BattleRecorder recorder, CancellationToken cancellationToken)
    {
        var battles = request.Battles ?? [];
        var errors = new Dictionary<string, string[]>();
        if (battles.Count is 0 or > MaxBattlesPerBatch)
        {
            errors["battles"] = [$"Send between 1 and {MaxBattlesPerBatch} battles."];
        }

        var incoming = new List<IncomingBattle>(battles.Count);
        for (var i = 0; i < battles.Count && errors.Count < 20; i++)
        {
            if (battles[i] is not { } b)
            {
                errors[$"battles[{i}]"] = ["a battle object is required"];
                continue;
            }

            var documented = b.ASystem is not null || b.BSystem is not null || b.Vote is not null || b.ATrack is not null || b.BTrack is not null;
            var fastChat = b.ModelA is not null || b.ModelB is not null || b.Winner is not null || b.TrackA is not null || b.TrackB is not null;
            var (systemA, systemB, trackA, trackB) = documented ? (b.ASystem?.Trim(), b.BSystem?.Trim(), b.ATrack, b.BTrack) : (b.ModelA?.Trim(), b.ModelB?.Trim(), b.TrackA, b.TrackB);
            var winner = documented ? Array.IndexOf(Votes, b.Vote) : b.Winner == "tie (bothbad)" ? Array.IndexOf(Winners, "both_bad") : Array.IndexOf(Winners, b.Winner);
            var problem =
                documented && fastChat ? "one format per battle: a_system, b_system, vote, a_track, b_track (documented) or model_a, model_b, winner, track_a, track_b (FastChat)" :
                !Domains.IsClientId(b.BattleId, Domains.MaxClientId) ? $"battle_id is required: {Domains.ClientIdRule(Domains.MaxClientId)}" :
                !Domains.IsClientId(systemA, Domains.MaxSystem) || !Domains.IsClientId(systemB, Domains.MaxSystem)
                    ? $"{(documented ? "a_system and b_system" : "model_a and model_b")} are required: {Domains.ClientIdRule(Domains.MaxSystem)}" :
                trackA is { } ta && !Domains.IsName(ta, Domains.MaxTrackId) || trackB is { } tb && !Domains.IsName(tb, Domains.MaxTrackId)
                    ? $"{(documented ? "a_track and b_track" : "track_a and track_b")}, when given, must be track ids: {Domains.NameRule(Domains.MaxTrackId)}" :
                winner < 0 ? (documented ? "vote must be a, b, tie or both_bad" : "winner must be model_a, model_b, tie, both_bad or \"tie (bothbad)\"") :
                b.Voter is { } voter && (voter.Length > VoterIds.MaxLength || VoterIds.IsBlank(voter)) ? $"voter, when given, must hold a visible character (at most {VoterIds.MaxLength} characters)" :
                null;
            if (problem is not null)
            {
                errors[$"battles[{i}]"] = [problem];
                continue;
            }

            incoming.Add(new IncomingBattle(b.BattleId!, systemA!, systemB!, winner, b.Instrumental, trackA, trackB, b.Voter is { } v ? VoterIds.Hash(v) : null));
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The battle batch is invalid; nothing was recorded.");
        }

        var outcomes = await recorder.RecordAsync(incoming, cancellationToken);
        var rejections = outcomes.Select((o, i) => (o, i)).Where(p => p.o == BattleOutcome.VoterCapReached)
            .Select(p => new BattleRejection(p.i, incoming[p.i].BattleId, $"this voter reached the daily cap of {recorder.DailyCapPerVoter} battles")).ToList();
        var conflicts = outcomes.Select((o, i) => (o, i)).Where(p => p.o == BattleOutcome.Conflict).Select(p => new BattleConflict(p.i, incoming[p.i].BattleId)).ToList();
        return TypedResults.Ok(new BattlesResponse(outcomes.Count(o => o == BattleOutcome.Accepted), outcomes.Count(o => o == BattleOutcome.Duplicate), conflicts.Count, rejections.Count, rejections, conflicts));
    }

    private static async Task<Results<Ok<LeaderboardView>, ProblemHttpResult>> LeaderboardAsync(string scope, IGrainFactory grains)
    {
        if (!Enum.TryParse<ArenaScope>(scope, ignoreCase: true, out var parsed) || int.TryParse(scope, out _))
        {
            return TypedResults.Problem(title: "No such leaderboard.", detail: "Scopes are overall, instrumental and vocal.", statusCode: StatusCodes.Status404NotFound);
        }

        return TypedResults.Ok(await grains.GetGrain<ILeaderboardGrain>(parsed.ToString().ToLowerInvariant()).GetAsync());
    }

    private static async Task<Results<Ok<JudgeResponse>, ValidationProblem, ProblemHttpResult>> JudgeAsync(JudgeRequest request, PreferenceJudge judge, IGrainFactory grains)
    {
        var pairs = request.Pairs ?? [];
        if (pairs.Count is 0 or > MaxPairsPerJudge)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["pairs"] = [$"Send between 1 and {MaxPairsPerJudge} pairs."] });
        }

        var invalid = pairs.Select((p, i) => (Problem: JudgeProblem(p), i)).Where(x => x.Problem is not null).Take(20)
            .ToDictionary(x => $"pairs[{x.i}]", x => new[] { x.Problem! });
        if (invalid.Count > 0)
        {
            return TypedResults.ValidationProblem(invalid, title: "The judge request is invalid.");
        }

        if (await judge.CurrentAsync() is not { } model)
        {
            return TypedResults.Problem(
                title: "No preference model yet.",
                detail: "The judge is trained on recorded battles whose two tracks are scored by this cluster; record battles with track_a and track_b first.",
                statusCode: StatusCodes.Status409Conflict);
        }

        var trackIds = pairs.SelectMany(p => new[] { p!.ScoresA is null ? p.TrackA : null, p.ScoresB is null ? p.TrackB : null }).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var tracks = new Dictionary<string, TrackScoreRow>(StringComparer.Ordinal);
        foreach (var view in await Task.WhenAll(trackIds.Select(t => grains.GetGrain<ITrackGrain>(t).GetAsync())))
        {
            if (view?.Scoring?.Scores is { } scores && JudgeGrain.ScoreRow(view.TrackId, scores) is { } row)
            {
                tracks[view.TrackId] = row;
            }
        }

        var probabilities = new double?[pairs.Count];
        var problems = new string?[pairs.Count];
        for (var i = 0; i < pairs.Count; i++)
        {
            var p = pairs[i]!;
            var a = Side(p.ScoresA, p.TrackA, tracks);
            var b = Side(p.ScoresB, p.TrackB, tracks);
            if (a is null || b is null || p.Instrumental is null)
            {
                problems[i] = p.Instrumental is null ? "instrumental is required" : "each side needs scores_a/scores_b or the id of a scored track";
                continue;
            }

            probabilities[i] = model.Probability(PreferenceFeatures.Of(a, b, p.Instrumental.Value));
        }

        ArenaMetrics.RecordJudged(probabilities.Count(p => p is not null));
        return TypedResults.Ok(new JudgeResponse(model.Version, model.TrainedOn, probabilities, problems));
    }

    /// <summary>Scores as the model gives them (streams and likes 0 to 100, the aesthetic dimensions 1 to 5); track ids as registered.</summary>
    private static string? JudgeProblem(JudgePair? p)
    {
        static bool InRange(ScoreVector s) =>
            s.Streams is >= 0 and <= 100 && s.Likes is >= 0 and <= 100
            && new[] { s.Coherence, s.Musicality, s.Memorability, s.Clarity, s.Naturalness }.All(v => v is >= 1 and <= 5);
        return p is null ? "a pair is required"
            : p.TrackA is { } a && !Domains.IsName(a, Domains.MaxTrackId) || p.TrackB is { } b && !Domains.IsName(b, Domains.MaxTrackId) ? $"track_a and track_b must be track ids: {Domains.NameRule(Domains.MaxTrackId)}"
            : p.ScoresA is { } sa && !InRange(sa) || p.ScoresB is { } sb && !InRange(sb) ? "scores: streams and likes from 0 to 100, coherence, musicality, memorability, clarity and naturalness from 1 to 5"
            : null;
    }

    private static TrackScoreRow? Side(ScoreVector? scores, string? trackId, Dictionary<string, TrackScoreRow> tracks) =>
        scores is { } s ? new TrackScoreRow(trackId ?? "", s.Streams, s.Likes, s.Coherence, s.Musicality, s.Memorability, s.Clarity, s.Naturalness)
        : trackId is not null && tracks.TryGetValue(trackId, out var row) ? row
        : null;
}

/// <summary>The silo's copy of the cluster's preference model, refreshed from the judge grain at most every few seconds.</summary>
public sealed class PreferenceJudge(IGrainFactory grains, TimeProvider time)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(5);
    private PreferenceModel? _model;
    private DateTimeOffset _fetched = DateTimeOffset.MinValue;

    public async Task<PreferenceModel?> CurrentAsync()
    {
        if (time.GetUtcNow() - _fetched > Refresh)
        {
            var model = await grains.GetGrain<IJudgeGrain>(0).GetModelAsync();
            if (model is not null && model.Version != _model?.Version)
            {
                _model = new PreferenceModel(model.Version, model.TrainedOn, model.Mean, model.Scale, model.Weights, model.Bias);
            }

            _fetched = time.GetUtcNow();
        }

        return _model;
    }

    /// <summary>P(A preferred) for two scored tracks; null while there is no model or either track has no scores.</summary>
    public async Task<(double Probability, string Version)?> PreferAAsync(string trackA, string trackB, bool instrumental)
    {
        if (await CurrentAsync() is not { } model)
        {
            return null;
        }

        var views = await Task.WhenAll(grains.GetGrain<ITrackGrain>(trackA).GetAsync(), grains.GetGrain<ITrackGrain>(trackB).GetAsync());
        var rows = views.Select(v => v?.Scoring?.Scores is { } scores ? JudgeGrain.ScoreRow(v.TrackId, scores) : null).ToList();
        return rows[0] is { } a && rows[1] is { } b ? (model.Probability(PreferenceFeatures.Of(a, b, instrumental)), model.Version) : null;
    }
}
