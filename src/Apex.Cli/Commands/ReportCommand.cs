using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex report</c>: a platform's predicted vs actual popularity from a running host: calibration over
/// mature tracks (Pearson, MAE, deciles) and the emerging hits, as tables (or the API's JSON).
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The host.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var key = new Option<string?>("--key") { Description = "An API key with the reader role (default: $APEX_API_KEY)." };
        var platform = new Option<string>("--platform") { Description = "The platform to report on.", Required = true };
        var window = new Option<string>("--window") { Description = "How young an emerging track is (e.g. 14d, 36h).", DefaultValueFactory = _ => "14d" };
        var limit = new Option<int>("--limit") { Description = "Emerging tracks to list.", DefaultValueFactory = _ => 10 };
        var wait = new Option<int>("--wait") { Description = "First wait up to this many seconds until none of the platform's tracks is queued for scoring.", DefaultValueFactory = _ => 0 };
        var format = new Option<string>("--format") { DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var command = new Command("report", "Predicted vs actual popularity on a platform: calibration over mature tracks and the emerging hits.")
        {
            url, key, platform, window, limit, wait, format,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var apiKey = result.GetValue(key) ?? Environment.GetEnvironmentVariable("APEX_API_KEY");
            if (apiKey is null)
            {
                CliConsole.Fail("give an API key with --key or APEX_API_KEY.");
                return ExitCodes.BadInput;
            }

            using var http = new HttpClient { BaseAddress = new Uri(result.GetValue(url)!), Timeout = TimeSpan.FromMinutes(1) };
            http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
            var name = Uri.EscapeDataString(result.GetValue(platform)!);
            JsonElement calibration, emerging;
            try
            {
                if (result.GetValue(wait) > 0)
                {
                    await WaitScoredAsync(http, name, TimeSpan.FromSeconds(result.GetValue(wait)), cancellationToken);
                }

                calibration = await GetAsync(http, $"/platforms/{name}/calibration", cancellationToken);
                emerging = await GetAsync(http, $"/platforms/{name}/emerging?window={Uri.EscapeDataString(result.GetValue(window)!)}&limit={result.GetValue(limit)}", cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                CliConsole.Fail(ex.Message);
                return ExitCodes.SomeFailed;
            }

            if (result.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new { calibration, emerging }));
                return ExitCodes.Ok;
            }

            Write(calibration, emerging);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Polls the platform's tracks (up to 1,000, newest first) until none is queued or the time is up.</summary>
    private static async Task WaitScoredAsync(HttpClient http, string platform, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var tracks = (await GetAsync(http, $"/platforms/{platform}/tracks?sort=newest&limit=1000", cancellationToken)).EnumerateArray().Select(t => t.GetProperty("track_id").GetString()!).ToList();
            var queued = 0;
            foreach (var id in tracks)
            {
                var track = await GetAsync(http, $"/tracks/{Uri.EscapeDataString(id)}", cancellationToken);
                queued += track.TryGetProperty("scoring", out var s) && s.ValueKind == JsonValueKind.Object && s.GetProperty("status").GetString() == "queued" ? 1 : 0;
            }

            if (queued == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                CliConsole.Note($"{queued} of {tracks.Count} tracks still queued for scoring; reporting on the scored ones.");
                return;
            }

            CliConsole.Note($"waiting for {queued} of {tracks.Count} tracks to be scored…");
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var detail = body.Length > 0 && JsonDocument.Parse(body).RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
            throw new HttpRequestException($"GET {path}: {(int)response.StatusCode} {response.ReasonPhrase}{(detail is null ? "" : ": " + detail)}");
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static string Number(JsonElement value, string format = "0.00") =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString(format, CultureInfo.InvariantCulture) : "–";

    private static void Write(JsonElement calibration, JsonElement emerging)
    {
        var output = CliConsole.CreateOutput();
        var versions = string.Join(", ", calibration.GetProperty("model_versions").EnumerateArray().Select(v => v.GetString()));
        output.MarkupLine(Markup.Escape($"{calibration.GetProperty("platform").GetString()}: {calibration.GetProperty("mature_scored_tracks").GetInt32()} mature scored tracks (older than {calibration.GetProperty("maturity_days").GetInt32()} days); models: {(versions.Length == 0 ? "none yet" : versions)}"));
        var summary = new Table { Title = new TableTitle("Calibration: predicted vs actual popularity score (0..100)") }
            .AddColumns("task", "tracks", "Pearson", "MAE", "deciles of the prediction: mean predicted → mean actual");
        foreach (var task in new[] { "streams", "likes" })
        {
            var t = calibration.GetProperty(task);
            var deciles = string.Join("  ", t.GetProperty("deciles").EnumerateArray().Select(d => $"{Number(d.GetProperty("mean_predicted"), "0")}→{Number(d.GetProperty("mean_actual"), "0")}"));
            summary.AddRow(task, t.GetProperty("tracks").GetInt32().ToString(CultureInfo.InvariantCulture), Number(t.GetProperty("pearson"), "0.000"), Number(t.GetProperty("mean_absolute_error")), Markup.Escape(deciles));
        }

        output.Write(summary);
        var hits = new Table { Title = new TableTitle(Markup.Escape($"Emerging (created in the last {emerging.GetProperty("window_days").GetDouble():0.#} days), the most potential first: predicted streams score and velocity score, half each")) }
            .AddColumns("track", "created", "predicted streams", "actual", "gap", "streams/h", "potential", "streams", "likes", "model");
        foreach (var e in emerging.GetProperty("tracks").EnumerateArray())
        {
            var label = e.GetProperty("model_label").GetString();
            hits.AddRow(
                Markup.Escape(e.GetProperty("track_id").GetString()!), e.GetProperty("created_at").GetDateTimeOffset().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                Number(e.GetProperty("predicted_streams"), "0.0"), Number(e.GetProperty("actual_streams"), "0.0"), Number(e.GetProperty("gap"), "+0.0;-0.0"),
                Number(e.GetProperty("streams_per_hour"), "0.0"), Number(e.GetProperty("potential"), "0.0"),
                e.GetProperty("streams").GetInt64().ToString(CultureInfo.InvariantCulture), e.GetProperty("likes").GetInt64().ToString(CultureInfo.InvariantCulture),
                Markup.Escape(label is null ? e.GetProperty("model_version").GetString()! : $"{e.GetProperty("model_version").GetString()} [{label}]"));
        }

        output.Write(hits);
    }
}
