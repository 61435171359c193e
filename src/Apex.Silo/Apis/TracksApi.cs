using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using Apex.Audio.Decoding;
using Apex.Grains;
using Apex.Scoring;
using Apex.Silo.Auth;
using Apex.Silo.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.StaticFiles;

namespace Apex.Silo.Apis;

/// <summary>POST /tracks, POST /tracks/upload, GET /tracks/{id}, GET /tracks/{id}/audio.</summary>
public static class TracksApi
{
    public sealed record RegisterTrackRequest(
        [property: Required, StringLength(Domains.MaxTrackId, MinimumLength = 1), RegularExpression(Domains.NamePattern)] string? TrackId,
        [property: Required, StringLength(Domains.MaxPlatform, MinimumLength = 1), RegularExpression(Domains.NamePattern)] string? Platform,
        [property: Required, Description(Domains.TimeRule)] DateTimeOffset? CreatedAt,
        [property: Required, StringLength(4096, MinimumLength = 1), Description("A path relative to the media root (symbolic links followed; never outside it).")] string? AudioPath,
        bool? Instrumental = null,
        [property: StringLength(Domains.MaxSystem, MinimumLength = 1), Description("Optional: the system that generated the track (e.g. suno-v4), 1 to 200 characters, no control characters or bidirectional overrides (trimmed); the arena pairs and rates systems.")] string? System = null,
        [property: StringLength(Domains.MaxPrompt, MinimumLength = 1), Description("Optional: the prompt the track was generated from, 1 to 2,000 characters, no control characters or bidirectional overrides; the arena pairs tracks of one prompt.")] string? Prompt = null);

    public sealed record TrackResponse(
        string TrackId,
        string Platform,
        DateTimeOffset CreatedAt,
        string AudioLocation,
        bool? Instrumental,
        long Streams,
        long Likes,
        bool Mature,
        PopularityView Popularity,
        DateTimeOffset RegisteredAt,
        ScoringResponse? Scoring,
        string? System,
        string? Prompt,
        [property: System.ComponentModel.Description("A young track's streams per hour (last 24 h and the 24 before) against its cohort, as of the last refresh; null for an older track.")] Apex.Grains.Signals.TrackVelocity? Velocity = null);

    /// <summary>A predicted popularity score beside the live actual one (null until the track has that count) and their gap.</summary>
    public sealed record PredictedVsActual(double Predicted, double? Actual, double? Gap);

    /// <summary>
    /// Scoring state and, once scored, the seven predicted scores (song level and per 30 s segment), the
    /// popularity predictions beside the actual scores, and the model, encoder and embedding behind them.
    /// A model labelled synthetic-demo was trained on synthetic data: its scores show the path, not music.
    /// </summary>
    public sealed record ScoringResponse(
        string Status,
        string? Error,
        int Attempts,
        string? ModelVersion,
        string? ModelLabel,
        IReadOnlyDictionary<string, float>? Predicted,
        IReadOnlyList<IReadOnlyDictionary<string, float>>? Segments,
        PredictedVsActual? Streams,
        PredictedVsActual? Likes,
        string? Encoder,
        string? Embedding,
        DateTimeOffset? ScoredAt);

    /// <summary>Largest audio upload (15 minutes of 48 kHz stereo WAV is ≈ 173 MB).</summary>
    public const long MaxUploadBytes = 256L * 1024 * 1024;

    private static readonly string[] UploadExtensions = [".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".aac", ".webm", ".aif", ".aiff"];

    public static IEndpointRouteBuilder MapTracksApi(this IEndpointRouteBuilder app)
    {
        var tracks = app.MapGroup("/tracks").WithTags("tracks");
        tracks.MapPost("/", RegisterAsync).WithName("RegisterTrack").WithSummary("Register a track (audio as a path under the media root).").RequireAuthorization(Roles.Ingest);
        tracks.MapPost("/upload", UploadAsync)
            .WithName("UploadTrack")
            .WithSummary("Register a track with its audio uploaded (multipart/form-data: track_id, platform, created_at, instrumental?, system?, prompt?, file).")
            .RequireAuthorization(Roles.Ingest)
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxUploadBytes));
        tracks.MapGet("/{id}", GetAsync).WithName("GetTrack").WithSummary("A track's counts, live percentiles and popularity scores, and maturity.").RequireAuthorization(Roles.Reader);
        tracks.MapGet("/{id}/audio", AudioAsync).WithName("GetTrackAudio").WithSummary("The track's stored audio (HTTP range requests supported); also to a console session, for its player.").RequireAuthorization(SiloHostExtensions.ReaderByKeyOrSession);
        return app;
    }

    /// <summary>
    /// Registration by path takes the same audio an upload does: the file is probed at the door (an audio
    /// stream ffmpeg reads, within the length limit), so a non-audio file is a 400 now, not a failed track later.
    /// </summary>
    private static async Task<Results<Created<TrackResponse>, Ok<TrackResponse>, ValidationProblem, ProblemHttpResult>> RegisterAsync(
        RegisterTrackRequest request, IGrainFactory grains, IAudioDecoder decoder, MediaLocations media, IOptions<ApexOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = Validate(request, options.Value, media.UploadsFolder, time.GetUtcNow(), out var audio);
        if (errors.Count == 0)
        {
            try
            {
                await decoder.ProbeAsync(media.Resolve(audio!), cancellationToken);
            }
            catch (AudioDecodeException ex)
            {
                errors["audio_path"] = [Refusal(ex)];
            }
        }

        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors, title: "The track registration is invalid.")
            : await RegisterValidAsync(request, audio!, grains, options.Value, time);
    }

    /// <summary>
    /// Multipart registration, atomic: every field is checked, the file streams to a staging file (its
    /// SHA-256 taken on the way) and is probed (an audio stream, not too long) before anything is
    /// registered; only a registration that is accepted (new, or the same again) moves it into place, as
    /// <c>{DataDir}/uploads/{track_id}-{sha256 prefix}{ext}</c>. So a refused upload never touches a
    /// stored file, and no two tracks share or overwrite one. A crash before the move leaves a
    /// registration whose retry (the same upload) completes it.
    /// </summary>
    private static async Task<Results<Created<TrackResponse>, Ok<TrackResponse>, ValidationProblem, ProblemHttpResult>> UploadAsync(
        HttpRequest http, IGrainFactory grains, IAudioDecoder audio, MediaLocations media, IOptions<ApexOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!http.HasFormContentType)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["Send multipart/form-data with the fields track_id, platform, created_at and file."] });
        }

        IFormCollection form;
        try
        {
            form = await http.ReadFormAsync(cancellationToken);
        }
        catch (IOException ex) when (ex is not BadHttpRequestException)
        {
            // A malformed multipart body (cut short, a bad boundary): the client's error. Over-limit
            // bodies stay BadHttpRequestException and InvalidDataException (413, BadRequestHandler).
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["The multipart/form-data body could not be read (malformed or cut short)."] }, title: "The track upload is invalid; nothing was stored.");
        }
        var request = new RegisterTrackRequest(
            form["track_id"], form["platform"],
            ExplicitOffsetTimeConverter.TryParse(form["created_at"], out var created) ? created : null,
            null,
            bool.TryParse(form["instrumental"], out var instrumental) ? instrumental : null,
            form.TryGetValue("system", out var system) ? system.ToString() : null,
            form.TryGetValue("prompt", out var prompt) ? prompt.ToString() : null);
        var errors = Validate(request, options.Value, media.UploadsFolder, time.GetUtcNow(), out _);
        errors.Remove("audio_path");
        var file = form.Files.GetFile("file");
        var extension = Path.GetExtension(file?.FileName ?? "").ToLowerInvariant();
        if (form.Files.Count > 1)
        {
            errors["file"] = ["Exactly one file part, named file: which of several would be the track's audio is not for the server to guess."];
        }
        else if (file is null || file.Length == 0)
        {
            errors["file"] = ["Required: the audio file (not empty)."];
        }
        else if (!UploadExtensions.Contains(extension))
        {
            errors["file"] = [$"Audio files only: {string.Join(" ", UploadExtensions)}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The track upload is invalid; nothing was stored.");
        }

        var folder = Directory.CreateDirectory(media.UploadsFolder).FullName;
        var staging = Path.Combine(Directory.CreateDirectory(Path.Combine(folder, ".staging")).FullName, $"{Guid.NewGuid():N}{extension}");
        try
        {
            var digest = await StageAsync(file!, staging, cancellationToken);
            try
            {
                await audio.ProbeAsync(staging, cancellationToken);
            }
            catch (AudioDecodeException ex)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = [Refusal(ex)] }, title: "The track upload is invalid; nothing was stored.");
            }

            // In place before the registration, so that scoring (which starts with it) finds the file. The
            // name is the track's and the content's, so it never replaces another track's file: an existing
            // one holds these very bytes. A refused registration removes only a file this request put there.
            var name = $"{request.TrackId}-{digest[..16]}{extension}";
            var path = Path.Combine(folder, name);
            // A registration that fails (503) may have been stored before it failed: the file stays, and
            // the client's re-sent upload finds it in place.
            var placed = Apex.Core.Files.DurableFiles.MoveIntoPlace(staging, path);
            var result = await RegisterValidAsync(request, MediaLocations.UploadPrefix + name, grains, options.Value, time);
            if (placed && result.Result is not (Created<TrackResponse> or Ok<TrackResponse>))
            {
                Apex.Core.Files.DurableFiles.Remove(path);
            }

            return result;
        }
        finally
        {
            File.Delete(staging);
        }
    }

    /// <summary>Streams the upload to <paramref name="path"/>, synced to disk; answers its SHA-256 (hex).</summary>
    private static async Task<string> StageAsync(IFormFile file, string path, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var source = file.OpenReadStream();
        await using (var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            await target.FlushAsync(cancellationToken);
            target.Flush(flushToDisk: true);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Why an upload is not audio we take, in words that name no server path.</summary>
    private static string Refusal(AudioDecodeException error) => error.Kind switch
    {
        AudioErrorKind.NoAudioStream => "The file has no audio stream.",
        AudioErrorKind.Corrupt => "The file is truncated or corrupt.",
        AudioErrorKind.Empty => "The file is empty.",
        AudioErrorKind.TooLong => $"The audio is longer than the limit ({new AudioOptions().MaxDurationSeconds:0} s).",
        AudioErrorKind.TimedOut => "The file took too long to read.",
        _ => "The file is not audio that ffmpeg can read.",
    };

    // The provider's own table, with the audio types browsers' <audio> expects where it says otherwise.
    private static readonly FileExtensionContentTypeProvider ContentTypes = new()
    {
        Mappings = { [".ogg"] = "audio/ogg", [".oga"] = "audio/ogg", [".opus"] = "audio/ogg", [".flac"] = "audio/flac", [".m4a"] = "audio/mp4", [".wav"] = "audio/wav", [".webm"] = "audio/webm" },
    };

    private static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> AudioAsync(string id, HttpContext http, IGrainFactory grains, MediaLocations media)
    {
        // Uploaded bytes are the client's: opened directly, they may play, never run.
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; media-src 'self'; sandbox";
        var view = await grains.GetGrain<ITrackGrain>(id).GetAsync();
        if (view is null)
        {
            return TypedResults.Problem(title: "Track not found.", detail: $"No track '{id}' is registered.", statusCode: StatusCodes.Status404NotFound);
        }

        string path;
        try
        {
            path = media.Resolve(view.AudioLocation);
        }
        catch (InvalidOperationException)
        {
            path = "";
        }

        // Only a regular file with bytes: opening a FIFO or device would wait forever (their stat size is 0).
        if (path.Length == 0 || !File.Exists(path) || new FileInfo(path).Length == 0)
        {
            return TypedResults.Problem(title: "Audio not available.", detail: $"Track '{id}' has no readable stored audio on this host.", statusCode: StatusCodes.Status404NotFound);
        }

        return TypedResults.PhysicalFile(path, ContentTypes.TryGetContentType(path, out var type) ? type : "application/octet-stream", enableRangeProcessing: true);
    }

    private static async Task<Results<Created<TrackResponse>, Ok<TrackResponse>, ValidationProblem, ProblemHttpResult>> RegisterValidAsync(
        RegisterTrackRequest request, string audio, IGrainFactory grains, ApexOptions options, TimeProvider time)
    {
        TrackRegistered registered;
        try
        {
            registered = await grains.GetGrain<ITrackGrain>(request.TrackId!).RegisterAsync(new TrackRegistration(request.Platform!, request.CreatedAt!.Value, audio, request.Instrumental, request.System?.Trim(), request.Prompt));
        }
        catch (TrackConflictException ex)
        {
            return TypedResults.Problem(title: "The track is already registered with other details.", detail: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }

        var response = await ResponseAsync(registered.Track, grains, options, time);
        return registered.Created ? TypedResults.Created($"/tracks/{Uri.EscapeDataString(response.TrackId)}", response) : TypedResults.Ok(response);
    }

    private static async Task<Results<Ok<TrackResponse>, ProblemHttpResult>> GetAsync(string id, HttpContext http, IGrainFactory grains, IOptions<ApexOptions> options, TimeProvider time)
    {
        var view = await grains.GetGrain<ITrackGrain>(id).GetAsync();
        return view is null
            ? TypedResults.Problem(title: "Track not found.", detail: $"No track '{id}' is registered.", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(await ResponseAsync(view, grains, options.Value, time, http.User.IsInRole(Roles.Admin)));
    }

    private static async Task<TrackResponse> ResponseAsync(TrackView view, IGrainFactory grains, ApexOptions options, TimeProvider time, bool admin = false)
    {
        var population = grains.GetGrain<IPopulationGrain>(view.Platform);
        var popularity = await population.RankAsync(view.Streams, view.Likes);
        var velocity = await population.GetVelocityAsync(view.TrackId);
        var mature = time.GetUtcNow() - view.CreatedAt > TimeSpan.FromDays(options.MaturityDays);
        return new TrackResponse(view.TrackId, view.Platform, view.CreatedAt, view.AudioLocation, view.Instrumental, view.Streams, view.Likes, mature, popularity, view.RegisteredAt,
            Scoring(view.Scoring, popularity, admin), view.System, view.Prompt, velocity);
    }

    private static ScoringResponse? Scoring(Grains.Scoring.TrackScoring? scoring, PopularityView popularity, bool admin)
    {
        if (scoring is null)
        {
            return null;
        }

        scoring = admin ? scoring : scoring with { Error = ScoringReasons.ForReader(scoring.Error) };

        var status = scoring.Status.ToString().ToLowerInvariant();
        if (scoring.Scores is not { } scores)
        {
            return new ScoringResponse(status, scoring.Error, scoring.Attempts, null, null, null, null, null, null, null, null, null);
        }

        IReadOnlyDictionary<string, float> Named(float[] values) => scores.Tasks.Zip(values).ToDictionary(p => p.First, p => p.Second);
        static PredictedVsActual? Versus(float? predicted, double? actual) =>
            predicted is { } p ? new PredictedVsActual(p, actual, actual is { } a ? p - a : null) : null;
        return new ScoringResponse(
            status, scoring.Error, scoring.Attempts, scores.ModelVersion, scores.ModelLabel, Named(scores.Song), scores.Segments.Select(Named).ToList(),
            Versus(scores.Of("streams"), popularity.StreamsScore), Versus(scores.Of("likes"), popularity.LikesScore),
            scores.Encoder, scores.EmbeddingRef, scores.ScoredAt);
    }

    internal static Dictionary<string, string[]> Validate(RegisterTrackRequest request, ApexOptions options, string uploadsFolder, DateTimeOffset now, out string? audio, Dictionary<string, string>? folders = null)
    {
        audio = null;
        var errors = new Dictionary<string, string[]>();
        if (!Domains.IsName(request.TrackId, Domains.MaxTrackId))
        {
            errors["track_id"] = [$"Required: {Domains.NameRule(Domains.MaxTrackId)}."];
        }

        if (!Domains.IsName(request.Platform, Domains.MaxPlatform))
        {
            errors["platform"] = [$"Required: {Domains.NameRule(Domains.MaxPlatform)}."];
        }

        if (request.CreatedAt is not { } created || !Domains.IsPlausibleTime(created, now))
        {
            errors["created_at"] = [$"Required: {Domains.TimeRule}."];
        }

        if (MediaPath(request.AudioPath, options, uploadsFolder, out audio, folders) is { } problem)
        {
            errors["audio_path"] = [problem];
        }

        if (request.System is not null && !Domains.IsClientId(request.System.Trim(), Domains.MaxSystem))
        {
            errors["system"] = [$"When given: {Domains.ClientIdRule(Domains.MaxSystem)}, not only white space."];
        }

        if (request.Prompt is not null && !Domains.IsClientId(request.Prompt, Domains.MaxPrompt))
        {
            errors["prompt"] = [$"When given: {Domains.ClientIdRule(Domains.MaxPrompt)}, not only white space."];
        }

        return errors;
    }


    /// <summary>Resolves a path under the media root; never an arbitrary server path.</summary>
    private static string? MediaPath(string? path, ApexOptions options, string uploadsFolder, out string? resolved, Dictionary<string, string>? folders)
    {
        resolved = null;
        if (string.IsNullOrWhiteSpace(path) || path.Length > 4096 || !Domains.IsPlainText(path))
        {
            return "Required: a path relative to the media root (at most 4096 characters, no control characters or bidirectional overrides).";
        }

        if (options.MediaRoot is null)
        {
            return "This host has no media root (Apex:MediaRoot), so it cannot take audio paths.";
        }

        // Links are followed first: a link inside the root that points outside it is outside.
        if (MediaLocations.Inside(options.MediaRoot, path, folders) is not { } file)
        {
            return "Must be a relative path inside the media root (symbolic links followed).";
        }

        var full = file.FullName;
        if (!file.Exists)
        {
            return $"No file '{path}' under the media root.";
        }

        // Uploaded files belong to their own track (two tracks never share one), even when an operator puts
        // the data folder under the media root. The host's other files are not audio: the probe refuses them.
        var uploads = MediaLocations.Cached(uploadsFolder, folders).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        if (full.StartsWith(uploads, StringComparison.Ordinal))
        {
            return "Must be a path inside the media root and outside the host's uploads folder.";
        }

        // A FIFO, socket or device (stat size 0) would block whoever opens it; an empty file has no audio.
        if (file.Length == 0)
        {
            return $"'{path}' is empty or not a regular file.";
        }

        resolved = Path.GetRelativePath(MediaLocations.Cached(options.MediaRoot, folders), full);
        // Stored locations starting "upload:" name uploaded files; a media file so named would be read as one.
        if (resolved.StartsWith(MediaLocations.UploadPrefix, StringComparison.Ordinal))
        {
            resolved = null;
            return $"A media path may not start with '{MediaLocations.UploadPrefix}' (that prefix names uploaded files).";
        }

        return null;
    }
}
