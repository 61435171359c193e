using Apex.Cli.Inputs;
using Apex.Core.Popularity;
using Apex.Embedding;
using Apex.Training.Data;

namespace Apex.Cli.Datasets;

/// <summary>What a dataset build did; every skipped item was also reported with its reason.</summary>
internal sealed record BuildSummary(int LabelRows, int BadLabelRows, int Embedded, int Reused, int BadAudio, int WithoutAudio, int AudioWithoutLabels, int Written);

/// <summary>
/// Audio folder + labels CSV + encoder → dataset: embeds every labelled track (file name without
/// extension = track_id), caching embeddings so that a rerun skips finished tracks, applies the
/// popularity transform per platform to the counts, and writes the Parquet dataset.
/// </summary>
internal static class DatasetBuilder
{
    public static async Task<BuildSummary> BuildAsync(string audioFolder, string labelsPath, AudioEmbedder embedder, string output, Action<string> report, ProgressTicker progress, CancellationToken cancellationToken)
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

        var cache = new EmbeddingCache(output + ".embeddings");
        var todo = labelled.Where(l => !cache.Contains(l.TrackId)).ToList();
        var reused = labelled.Count - todo.Count;
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

        var kept = labelled.Where(l => !bad.Contains(l.TrackId)).ToList();
        var platforms = kept.Select(l => l.Platform).ToList();
        var streams = PopularityLabeler.Scores(platforms, kept.Select(l => l.Streams).ToList());
        var likes = PopularityLabeler.Scores(platforms, kept.Select(l => l.Likes).ToList());
        var info = new DatasetInfo(embedder.Encoder.Info.LayerCount, embedder.Encoder.Info.HiddenSize, $"built from {Path.GetFileName(labelsPath)} with encoder {Path.GetFileName(embedder.Encoder.Info.ModelPath)} ({embedder.Encoder.Info.Source})");
        await ParquetDataset.WriteAsync(output, kept.Select((l, i) =>
        {
            var (segments, values) = cache.Get(l.TrackId);
            return new SongRow
            {
                TrackId = l.TrackId,
                Platform = l.Platform,
                CreatedAt = l.CreatedAt,
                Streams = streams[i],
                Likes = likes[i],
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

        return new BuildSummary(labels.Count + problems.Count, problems.Count, embedded, reused, bad.Count, withoutAudio, unlabelled, kept.Count);
    }
}
