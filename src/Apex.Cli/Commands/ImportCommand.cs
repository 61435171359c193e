using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Apex.Cli.Import;
using Spectre.Console;

namespace Apex.Cli.Commands;

/// <summary>
/// <c>apex import</c>: loads a platform's catalogue (CSV, JSON Lines or Parquet) into a running host
/// through POST /tracks/batch: batches in file order, sent concurrently, retried through outages (they
/// are idempotent), with --progress/--resume to skip what was acknowledged before a crash of either
/// side. It ends with a summary and every row the host refused, with its line and reason.
/// </summary>
internal static class ImportCommand
{
    private const int MaxBatch = 10_000;

    public sealed record Settings(Uri Url, string Key, string File, string Format, int Batch, int Concurrency, int Attempts, string? Progress, bool Resume, string? Rejected);

    /// <summary>What an import did, summed over its batches.</summary>
    public sealed record Summary(long Rows, long Created, long Same, long Conflict, long Rejected, long Skipped, double Seconds);

    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The catalogue: CSV with a header, JSON Lines, or Parquet; columns track_id, platform, created_at, audio_path (or audio), and optionally system, prompt, instrumental, streams, likes, counts_at." };
        var url = new Option<string>("--url") { Description = "The host.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var key = new Option<string?>("--key") { Description = "An API key with the ingest role (default: $APEX_API_KEY)." };
        var format = new Option<string?>("--format") { Description = "csv, jsonl or parquet (default: from the file's extension)." };
        var batch = new Option<int>("--batch") { Description = $"Tracks per request (1 to {MaxBatch:N0}).", DefaultValueFactory = _ => 5_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight.", DefaultValueFactory = _ => 4 };
        var attempts = new Option<int>("--attempts") { Description = "Tries per request through connection errors, 5xx and 429 (exponential backoff with jitter).", DefaultValueFactory = _ => 60 };
        var progress = new Option<string?>("--progress") { Description = "A file recording the acknowledged batches (appended as they are acknowledged)." };
        var resume = new Option<bool>("--resume") { Description = "Skip the batches --progress records as acknowledged." };
        var rejected = new Option<string?>("--rejected") { Description = "Write every refused row (line, track_id, outcome, reason) to this CSV file." };
        var command = new Command("import", "Register a catalogue of tracks (with their counts so far) on a running host, in bulk.")
        {
            file, url, key, format, batch, concurrency, attempts, progress, resume, rejected,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var apiKey = result.GetValue(key) ?? Environment.GetEnvironmentVariable("APEX_API_KEY");
            var path = result.GetValue(file)!;
            string? problem = null;
            if (string.IsNullOrEmpty(apiKey))
            {
                problem = "give an API key with the ingest role: --key or APEX_API_KEY.";
            }
            else if (!Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out _))
            {
                problem = $"--url '{result.GetValue(url)}' is not an absolute URL.";
            }
            else if (!System.IO.File.Exists(path))
            {
                problem = $"{path}: file not found.";
            }
            else if (result.GetValue(batch) is < 1 or > MaxBatch || result.GetValue(concurrency) < 1 || result.GetValue(attempts) < 1)
            {
                problem = $"--batch must be 1 to {MaxBatch:N0}; --concurrency and --attempts at least 1.";
            }
            else if (result.GetValue(resume) && result.GetValue(progress) is null)
            {
                problem = "--resume needs --progress FILE (where the acknowledged batches were recorded).";
            }

            string? kind = null;
            try
            {
                kind = problem is null ? CatalogueFile.FormatOf(path, result.GetValue(format)?.ToLowerInvariant()) : null;
            }
            catch (InvalidDataException ex)
            {
                problem = ex.Message;
            }

            if (problem is not null || kind is not ("csv" or "jsonl" or "parquet"))
            {
                CliConsole.Fail(problem ?? $"--format '{kind}': csv, jsonl or parquet.");
                return ExitCodes.BadInput;
            }

            var settings = new Settings(new Uri(result.GetValue(url)!), apiKey!, path, kind, result.GetValue(batch), result.GetValue(concurrency), result.GetValue(attempts), result.GetValue(progress), result.GetValue(resume), result.GetValue(rejected));
            try
            {
                var summary = await RunAsync(settings, cancellationToken);
                return summary.Conflict + summary.Rejected == 0 ? ExitCodes.Ok : ExitCodes.SomeFailed;
            }
            catch (HttpRequestException ex)
            {
                CliConsole.Fail($"the host at {settings.Url} did not answer as expected: {ex.Message}");
                return ExitCodes.SomeFailed;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or CsvHelper.CsvHelperException)
            {
                CliConsole.Fail($"{settings.File}: {ex.Message}");
                return ExitCodes.BadInput;
            }
        });
        return command;
    }

    public static async Task<Summary> RunAsync(Settings s, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = s.Url, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Add("X-Api-Key", s.Key);
        var retrying = HostClient.Retrying(s.Attempts, () => { }, cancellationToken);
        await HostClient.WaitForHostAsync(http, cancellationToken);
        var total = await CatalogueFile.CountAsync(s.File, s.Format, cancellationToken);
        using var acknowledged = AcknowledgedBatches.Open(s.Progress, s.Resume);
        var refused = new ConcurrentBag<(long Line, string? TrackId, string Outcome, string Reason)>();
        long rows = 0, created = 0, same = 0, conflict = 0, rejected = 0, skipped = 0;
        var clock = Stopwatch.StartNew();
        await Progress.RunAsync($"importing {Path.GetFileName(s.File)}", (int)Math.Min(int.MaxValue, (total + s.Batch - 1) / s.Batch), show: true, async ticker =>
        {
            var batches = Batches(CatalogueFile.ReadAsync(s.File, s.Format, CliConsole.Note, cancellationToken), s.Batch, cancellationToken);
            await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = s.Concurrency, CancellationToken = cancellationToken }, async (batch, ct) =>
            {
                Interlocked.Add(ref rows, batch.Rows.Count);
                if (acknowledged.Done(batch.Index))
                {
                    Interlocked.Add(ref skipped, batch.Rows.Count);
                    ticker.Advance();
                    return;
                }

                // Rows the file could not type are refused here, with their line; the rest go to the host.
                foreach (var bad in batch.Rows.Where(r => r.Error is not null))
                {
                    refused.Add((bad.Line, bad.TrackId, "rejected", bad.Error!));
                    Interlocked.Increment(ref rejected);
                }

                var send = batch.Rows.Where(r => r.Error is null).ToList();
                if (send.Count > 0)
                {
                    using var response = await retrying.ExecuteAsync(async c => await http.PostAsJsonAsync(new Uri("/tracks/batch", UriKind.Relative), new { tracks = send.Select(r => r.Fields) }, c), ct);
                    var text = await response.Content.ReadAsStringAsync(ct);
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new HttpRequestException($"POST /tracks/batch (rows from line {send[0].Line}): {(int)response.StatusCode} {text}");
                    }

                    var answer = JsonDocument.Parse(text).RootElement;
                    Interlocked.Add(ref created, answer.GetProperty("created").GetInt64());
                    Interlocked.Add(ref same, answer.GetProperty("same").GetInt64());
                    Interlocked.Add(ref conflict, answer.GetProperty("conflict").GetInt64());
                    Interlocked.Add(ref rejected, answer.GetProperty("rejected").GetInt64());
                    foreach (var item in answer.GetProperty("items").EnumerateArray())
                    {
                        if (item.GetProperty("outcome").GetString() is "rejected" or "conflict")
                        {
                            var row = send[item.GetProperty("index").GetInt32()];
                            refused.Add((row.Line, row.TrackId, item.GetProperty("outcome").GetString()!, item.TryGetProperty("reason", out var reason) ? reason.GetString() ?? "" : ""));
                        }
                    }
                }

                acknowledged.Acknowledged(batch.Index);
                ticker.Advance();
            });
        });

        var summary = new Summary(rows, created, same, conflict, rejected, skipped, clock.Elapsed.TotalSeconds);
        Report(s, summary, [.. refused.OrderBy(r => r.Line)]);
        return summary;
    }

    private sealed record Batch(int Index, IReadOnlyList<CatalogueRow> Rows);

    private static async IAsyncEnumerable<Batch> Batches(IAsyncEnumerable<CatalogueRow> rows, int size, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var index = 0;
        var current = new List<CatalogueRow>(size);
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            current.Add(row);
            if (current.Count == size)
            {
                yield return new Batch(index++, current);
                current = new List<CatalogueRow>(size);
            }
        }

        if (current.Count > 0)
        {
            yield return new Batch(index, current);
        }
    }

    private static void Report(Settings s, Summary summary, IReadOnlyList<(long Line, string? TrackId, string Outcome, string Reason)> refused)
    {
        var rate = summary.Seconds > 0 ? (summary.Rows - summary.Skipped) / summary.Seconds : 0;
        CliConsole.Note(string.Create(CultureInfo.InvariantCulture,
            $"{summary.Rows:N0} rows in {summary.Seconds:0.0} s ({rate:N0} rows/s): created {summary.Created:N0}, same {summary.Same:N0}, conflict {summary.Conflict:N0}, rejected {summary.Rejected:N0}{(summary.Skipped > 0 ? $", skipped {summary.Skipped:N0} acknowledged before" : "")}"));
        if (refused.Count == 0)
        {
            return;
        }

        var table = new Table().AddColumns("line", "track_id", "outcome", "reason");
        foreach (var (line, id, outcome, reason) in refused.Take(20))
        {
            table.AddRow(line.ToString(CultureInfo.InvariantCulture), Markup.Escape(id ?? ""), outcome, Markup.Escape(reason));
        }

        CliConsole.Error.Write(table);
        if (refused.Count > 20)
        {
            CliConsole.Note($"… and {refused.Count - 20:N0} more{(s.Rejected is null ? " (--rejected FILE lists them all)" : "")}.");
        }

        if (s.Rejected is not null)
        {
            using var writer = new StreamWriter(s.Rejected);
            using var csv = new CsvHelper.CsvWriter(writer, CultureInfo.InvariantCulture);
            csv.WriteField("line");
            csv.WriteField("track_id");
            csv.WriteField("outcome");
            csv.WriteField("reason");
            csv.NextRecord();
            foreach (var (line, id, outcome, reason) in refused)
            {
                csv.WriteField(line);
                csv.WriteField(id);
                csv.WriteField(outcome);
                csv.WriteField(reason);
                csv.NextRecord();
            }

            CliConsole.Note($"every refused row: {s.Rejected}");
        }
    }
}
