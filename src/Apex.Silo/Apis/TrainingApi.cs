using Apex.Grains.Training;
using Apex.Scoring;
using Apex.Silo.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Apex.Silo.Apis;

/// <summary>Training runs, label drift and the model registry.</summary>
public static class TrainingApi
{
    public const int MaxReason = 500;

    public sealed record StartRunRequest(
        [property: System.ComponentModel.DataAnnotations.StringLength(MaxReason, MinimumLength = 1), System.ComponentModel.Description("Optional: why, 1 to 500 characters, no control characters or bidirectional overrides; shown with the run.")] string? Reason = null);

    public sealed record ModelView(string Version, string? Label, string Status, DateTimeOffset CreatedAt, string DataSnapshot, string InputMode, string Loss);

    public sealed record ModelsResponse(string? Serving, IReadOnlyList<ModelView> Models);

    public sealed record PromotedResponse(string Serving, string Note);

    public static IEndpointRouteBuilder MapTrainingApi(this IEndpointRouteBuilder app)
    {
        var training = app.MapGroup("/training").WithTags("training");
        training.MapPost("/runs", StartAsync).WithName("StartTrainingRun").WithSummary("Start a training run now (one at a time; answers the running one if any).").RequireAuthorization(Roles.Admin);
        training.MapGet("/runs", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<ITrainerGrain>(0).ListRunsAsync()))
            .WithName("ListTrainingRuns").WithSummary("Training runs, newest first.").RequireAuthorization(Roles.Reader);
        training.MapGet("/runs/{id}", GetAsync).WithName("GetTrainingRun").WithSummary("A run: status, steps, workers, both models' metrics, the decision and re-scoring progress.").RequireAuthorization(Roles.Reader);
        training.MapGet("/rollout", GetRolloutAsync).WithName("GetRollout")
            .WithSummary("The re-scoring with the serving version after a promotion or rollback: tracks done of total, in progress or finished (it resumes after a restart).").RequireAuthorization(Roles.Reader);
        training.MapGet("/drift", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<ITrainerGrain>(0).GetDriftAsync()))
            .WithName("LabelDrift").WithSummary("New mature tracks since the last run and the share whose popularity moved.").RequireAuthorization(Roles.Reader);

        var models = app.MapGroup("/models").WithTags("models");
        models.MapGet("/", List).WithName("ListModels").WithSummary("The model registry: versions with their manifests and status (serving, retired, candidate).").RequireAuthorization(Roles.Reader);
        models.MapPost("/{version}/promote", PromoteAsync).WithName("PromoteModel").WithSummary("Serve this version on every silo and re-score the tracks with it.").RequireAuthorization(Roles.Admin);
        models.MapPost("/rollback", RollbackAsync).WithName("RollbackModel").WithSummary("Serve the version served before the current one and re-score with it.").RequireAuthorization(Roles.Admin);
        return app;
    }

    private static async Task<Results<Accepted<TrainingRunView>, ValidationProblem>> StartAsync(StartRunRequest? request, IGrainFactory grains)
    {
        if (request?.Reason is { } given && !Domains.IsClientId(given, MaxReason))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["reason"] = [$"When given: {Domains.ClientIdRule(MaxReason)}, not only white space."] }, title: "The training request is invalid; no run was started.");
        }

        var run = await grains.GetGrain<ITrainerGrain>(0).StartAsync(request?.Reason is { Length: > 0 } reason ? reason : "requested through POST /training/runs");
        return TypedResults.Accepted($"/training/runs/{run.Id}", run);
    }

    private static async Task<Results<Ok<TrainingRunView>, ProblemHttpResult>> GetAsync(string id, IGrainFactory grains) =>
        await grains.GetGrain<ITrainerGrain>(0).GetRunAsync(id) is { } run
            ? TypedResults.Ok(run)
            : TypedResults.Problem(title: "Training run not found.", detail: $"No run '{id}'.", statusCode: StatusCodes.Status404NotFound);

    private static async Task<Results<Ok<RolloutView>, ProblemHttpResult>> GetRolloutAsync(IGrainFactory grains) =>
        await grains.GetGrain<ITrainerGrain>(0).GetRolloutAsync() is { } rollout
            ? TypedResults.Ok(rollout)
            : TypedResults.Problem(title: "No rollout yet.", detail: "No version has been promoted or rolled back to in this cluster.", statusCode: StatusCodes.Status404NotFound);

    private static Ok<ModelsResponse> List(ModelRegistry registry) =>
        TypedResults.Ok(new ModelsResponse(registry.ServingVersion(), registry.Versions()
            .Select(v => new ModelView(v.Manifest.Version, v.Manifest.Label, v.Status, v.Manifest.CreatedAt, v.Manifest.DataSnapshot, v.Manifest.InputMode, v.Manifest.Loss)).ToList()));

    private static async Task<Results<Ok<PromotedResponse>, ProblemHttpResult>> PromoteAsync(string version, IGrainFactory grains)
    {
        try
        {
            var serving = await grains.GetGrain<ITrainerGrain>(0).PromoteAsync(version);
            return TypedResults.Ok(new PromotedResponse(serving, "every silo swaps it in within seconds; tracks are re-scored in the background (GET /training/rollout)"));
        }
        catch (InvalidDataException ex)
        {
            return TypedResults.Problem(title: "No such model version.", detail: ex.Message, statusCode: StatusCodes.Status404NotFound);
        }
    }

    private static async Task<Results<Ok<PromotedResponse>, ProblemHttpResult>> RollbackAsync(IGrainFactory grains) =>
        await grains.GetGrain<ITrainerGrain>(0).RollbackAsync() is { } serving
            ? TypedResults.Ok(new PromotedResponse(serving, "rolled back; tracks are re-scored in the background (GET /training/rollout)"))
            : TypedResults.Problem(title: "Nothing to roll back to.", detail: "No other version has been served.", statusCode: StatusCodes.Status409Conflict);
}
