using Apex.Audio.Decoding;
using Apex.Embedding;
using Apex.Embedding.Encoding;
using Apex.Grains;
using Apex.Grains.Scoring;
using Apex.Scoring;
using Apex.Training.Checkpoints;
using Apex.Training.Data;
using Apex.Training.Training;

namespace Apex.Cluster.Tests;

/// <summary>Scoring in a real multi-silo cluster: placement on GPU silos, batching, failures, crashes and back-pressure.</summary>
public sealed class ScoringTests(ServedModel model) : IClassFixture<ServedModel>
{
    private static readonly string[] Songs = ["brahms-hungarian-dance-5", "macleod-sugar-plum-fairy", "macleod-vibe-ace", "sorohan-solo-trumpet-06"];

    private static Task<TrackRegistered> RegisterAsync(IClusterClient client, string id, string audio) =>
        client.GetGrain<ITrackGrain>(id).RegisterAsync(new TrackRegistration("suno", DateTimeOffset.UtcNow.AddDays(-1), audio, null));

    [Fact]
    public async Task Embedders_run_only_on_the_gpu_silo_batch_across_tracks_and_score_like_the_offline_path()
    {
        var options = new ScoringOptions { MaxBatch = 8, MaxWait = TimeSpan.FromSeconds(1) };
        await using var cluster = await ScoringCluster.StartAsync(model.Folder, options, false, true);
        var gpuSilo = cluster.GpuSilos.Single().SiloAddress.ToParsableString();

        await Task.WhenAll(Songs.Select(s => RegisterAsync(cluster.Client, s, s + ".ogg")).Append(RegisterAsync(cluster.Client, "not-audio", "ATTRIBUTION.md")));
        var views = await cluster.WaitScoredAsync(Songs.Append("not-audio"), TimeSpan.FromSeconds(300));

        var failed = views.Single(v => v.TrackId == "not-audio").Scoring!;
        Assert.Equal(ScoringStatus.Failed, failed.Status);
        Assert.StartsWith("NotAudio", failed.Error, StringComparison.Ordinal);
        Assert.All(views.Where(v => v.TrackId != "not-audio"), v =>
        {
            Assert.Equal(ScoringStatus.Scored, v.Scoring!.Status);
            Assert.Equal("synthetic-demo", v.Scoring.Scores!.ModelLabel);
        });

        // Every embedding was made on the GPU silo, by the one embedder there, in runs that mixed tracks.
        var store = await cluster.OpenStoreAsync();
        var embeddings = await Task.WhenAll(Songs.Select(s => store.LoadAsync(s)));
        Assert.All(embeddings, e => Assert.Equal(gpuSilo, e!.Silo));
        var stats = await cluster.Client.GetGrain<IEmbedderGrain>(EmbedderKey.Create("gpu", gpuSilo, 0)).GetStatsAsync();
        Assert.Equal(gpuSilo, stats.Silo);
        Assert.Equal(embeddings.Sum(e => e!.Segments), stats.Segments);
        Assert.True(stats.Runs < stats.Segments, $"{stats.Runs} runs for {stats.Segments} segments: no batching");
        Assert.True(stats.LargestBatch > embeddings.Max(e => e!.Segments), $"largest batch {stats.LargestBatch}: no batch held segments of two tracks");

        // The same file through the offline path (decode, encode alone, head) gives the same scores.
        var (head, manifest) = HeadCheckpoint.Load(model.Serving);
        using var encoder = new OnnxAudioEncoder(ServedModel.Encoder);
        var offline = await new AudioEmbedder(new FfmpegAudioDecoder(), encoder).EmbedAsync(new EmbedRequest(Path.Combine(ScoringCluster.Samples, Songs[0] + ".ogg")));
        var expected = HeadScorer.Score(head, Enum.Parse<InputMode>(manifest.InputMode, ignoreCase: true), offline.Values, offline.SegmentCount);
        var served = views.Single(v => v.TrackId == Songs[0]).Scoring!.Scores!;
        Assert.Equal(manifest.Version, served.ModelVersion);
        Assert.Equal(expected.Song.Length, served.Song.Length);
        for (var t = 0; t < expected.Song.Length; t++)
        {
            Assert.Equal(expected.Song[t], served.Song[t], 3);
        }
    }

    [Fact]
    public async Task Without_a_gpu_silo_or_cpu_embedders_a_track_stays_queued_and_says_why()
    {
        await using var cluster = await ScoringCluster.StartAsync(model.Folder, new ScoringOptions { AllowCpu = false }, false, false);

        await RegisterAsync(cluster.Client, "waiting", Songs[0] + ".ogg");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var scoring = (await cluster.Client.GetGrain<ITrackGrain>("waiting").ScoreNowAsync())!;

        Assert.Equal(ScoringStatus.Queued, scoring.Status);
        Assert.Contains("no embedder available", scoring.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_queue_turns_work_away_without_losing_it()
    {
        var options = new ScoringOptions { QueueCapacity = 1, MaxBatch = 4, MaxWait = TimeSpan.FromMilliseconds(300) };
        await using var cluster = await ScoringCluster.StartAsync(model.Folder, options, true);
        var ids = Enumerable.Range(0, 6).Select(i => $"bp-{i}").ToList();

        await Task.WhenAll(ids.Select((id, i) => RegisterAsync(cluster.Client, id, Songs[i % Songs.Length] + ".ogg")));
        var views = await cluster.WaitScoredAsync(ids, TimeSpan.FromSeconds(300));

        Assert.All(views, v => Assert.Equal(ScoringStatus.Scored, v.Scoring!.Status));
        var gpuSilo = cluster.GpuSilos.Single().SiloAddress.ToParsableString();
        var stats = await cluster.Client.GetGrain<IEmbedderGrain>(EmbedderKey.Create("gpu", gpuSilo, 0)).GetStatsAsync();
        Assert.True(stats.Refused > 0, "the queue of one never refused work");
        Assert.Equal(ids.Count, stats.Tracks);
    }

    [Fact]
    public async Task A_crash_of_the_gpu_silo_mid_batch_leaves_the_tracks_queued_until_a_gpu_silo_returns()
    {
        // Batches wait up to 5 s for more segments: the crash lands while the tracks' segments are queued.
        var options = new ScoringOptions { MaxBatch = 64, MaxWait = TimeSpan.FromSeconds(5) };
        await using var cluster = await ScoringCluster.StartAsync(model.Folder, options, false, true);
        await Task.WhenAll(Songs.Select(s => RegisterAsync(cluster.Client, "crash-" + s, s + ".ogg")));
        await Task.Delay(TimeSpan.FromSeconds(2));

        await cluster.Cluster.KillSiloAsync(cluster.GpuSilos.Single());
        var during = await Task.WhenAll(Songs.Select(s => cluster.Client.GetGrain<ITrackGrain>("crash-" + s).GetAsync()));
        Assert.All(during, v => Assert.Equal(ScoringStatus.Queued, v!.Scoring!.Status));

        var replacement = await cluster.StartSiloAsync(gpu: true);
        var views = await cluster.WaitScoredAsync(Songs.Select(s => "crash-" + s), TimeSpan.FromSeconds(300));

        Assert.All(views, v => Assert.Equal(ScoringStatus.Scored, v.Scoring!.Status));
        var store = await cluster.OpenStoreAsync();
        var embeddings = await Task.WhenAll(Songs.Select(s => store.LoadAsync("crash-" + s)));
        Assert.All(embeddings, e => Assert.Equal(replacement.SiloAddress.ToParsableString(), e!.Silo));
    }
}
