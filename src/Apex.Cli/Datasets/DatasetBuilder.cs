using Apex.Cli.Inputs;
using Apex.Core.Popularity;
using Apex.Embedding;
using Apex.Training.Data;

namespace Apex.Cli.Datasets;

/// <summary>What a dataset build did; every skipped item was also reported with its reason.</summary>
internal sealed record BuildSummary(int LabelRows, int BadLabelRows, int Embedded, int Reused, int BadAudio, int WithoutAudio, int AudioWithoutLabels, int Written, IReadOnlyList<string> Labeling);

/// <summary>
/// Audio folder + labels CSV + encoder → dataset, curated and labelled by the project's one labeler
/// (<see cref="SongLabeler"/>) in the paper's order: songs with zero streams, too young at the as-of
/// date or with the audio of an earlier song (SHA-256 of the file) are left out before anything is
/// embedded; unreadable audio is left out next; the rest are ranked (and balanced across platforms when
/// asked) and written as Parquet. Embeddings are cached (file name without extension = track_id), so a
/// rerun skips finished tracks.
/// </summary>
internal static class DatasetBuilder
{
    public static async Task<BuildSummary> BuildAsync(string audioFolder, string labelsPath, AudioEmbedder embedder, string output,
        Func<IEnumerable<DateTimeOffset?>, LabelingOptions> labeling, Action<string> report, ProgressTicker progress, CancellationToken cancellationToken)
    {
        var (labels, problems) = LabelsCsv.Read(labelsPath);
        problems.ForEach(report);

        var audio = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in AudioInputs.Resolve([audioFolder], null).Select(r => r.Path))
        {
            var id = Path.GetFileNameWithoutExtension(file);
            if (!audio.TryAdd(id, file))
            {
                report($"{file}: another file already gives track '{id}' ({audio[id]}); ignored");
            }
        }

        var labelled = labels.Where(l => audio.ContainsKey(l.TrackId)).ToList();
        var withoutAudio = labels.Count - labelled.Count;
        foreach (var l in labels.Where(l => !audio.ContainsKey(l.TrackId)).Take(20))
        {
            report($"{labelsPath}:{l.Line}: no audio file named '{l.TrackId}.*' under {audioFolder}; row skipped");
        }

        var labelledIds = labels.Select(l => l.TrackId).ToHashSet(StringComparer.Ordinal);
        var unlabelled = audio.Keys.Count(id => !labelledIds.Contains(id));

        // Curation that needs no embedding first (zero streams, age, duplicate audio): nothing is embedded for nothing.
        var options = labeling(labels.Select(l => (DateTimeOffset?)new DateTimeOffset(l.CreatedAt, TimeSpan.Zero)));
        var songs = new List<SongCounts>(labelled.Count);
        foreach (var l in labelled)
        {
            // The content hash: the same audio under two track ids is one song.
            songs.Add(new SongCounts(l.TrackId, l.Platform, l.Streams, l.Likes, new DateTimeOffset(l.CreatedAt, TimeSpan.Zero), await Apex.Core.Files.FileHash.Sha256Async(audio[l.TrackId], cancellationToken)));
        }

        var curated = SongLabeler.Label(songs, options with { BalancePlatforms = false });
        var byId = labelled.ToDictionary(l => l.TrackId, StringComparer.Ordinal);
        var candidates = curated.Kept.Select(k => byId[k.Song.TrackId]).ToList();

        var cache = new EmbeddingCache(output + ".embeddings");
        var todo = candidates.Where(l => !cache.Contains(l.TrackId)).ToList();
        var reused = candidates.Count - todo.Count;
        var embedded = 0;
        var bad = new HashSet<string>(StringComparer.Ordinal);
        progress.SetTotal(todo.Count);
        await foreach (var result in embedder.EmbedManyAsync(todo.Select(l => new EmbedRequest(audio[l.TrackId])), cancellationToken: cancellationToken))
        {
            var id = Path.GetFileNameWithoutExtension(result.Request.Path);
            if (result.Embedding is { } e)
            {
                cache.Put(id, e.SegmentCount, e.Values);
                embedded++;
            }
            else
            {
                bad.Add(id);
                report($"track '{id}': {result.Error}; skipped");
            }

            progress.Advance(id);
        }

        // Ranked among the songs that stay (unreadable audio is out), then balanced when asked.
        var final = SongLabeler.Label(curated.Kept.Select(k => k.Song).Where(s => !bad.Contains(s.TrackId)).ToList(), options);
        var info = new DatasetInfo(embedder.Encoder.Info.LayerCount, embedder.Encoder.Info.HiddenSize,
            $"built from {Path.GetFileName(labelsPath)} with encoder {Path.GetFileName(embedder.Encoder.Info.ModelPath)} ({embedder.Encoder.Info.Source})", embedder.Encoder.Info.Identity);
        await ParquetDataset.WriteAsync(output, final.Kept.Select(label =>
        {
            var l = byId[label.Song.TrackId];
            var (segments, values) = cache.Get(l.TrackId);
            return new SongRow
            {
                TrackId = l.TrackId,
                Platform = l.Platform,
                CreatedAt = l.CreatedAt,
                Streams = (float)label.StreamsScore,
                Likes = (float?)label.LikesScore,
                Coherence = l.Aesthetics[0],
                Musicality = l.Aesthetics[1],
                Memorability = l.Aesthetics[2],
                Clarity = l.Aesthetics[3],
                Naturalness = l.Aesthetics[4],
                Instrumental = l.Instrumental,
                Segments = segments,
                Embedding = values,
            };
        }), info, cancellationToken: cancellationToken);

        IReadOnlyList<string> summary = [.. Commands.LabelingOptionsBinder.Summary(new SongLabels(final.Kept, [.. curated.Dropped, .. final.Dropped]), options)];
        return new BuildSummary(labels.Count + problems.Count, problems.Count, embedded, reused, bad.Count, withoutAudio, unlabelled, final.Kept.Count, summary);
    }
}
