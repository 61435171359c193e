using Apex.Training.Data;

namespace Apex.Cli.Tests;

public sealed class DatasetBuildTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-dataset-build-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Builds_a_curated_dataset_from_audio_and_labels_reports_what_it_left_out_and_resumes()
    {
        var audio = Directory.CreateDirectory(Path.Combine(_folder, "audio")).FullName;
        File.Copy(Apex.Sample("sorohan-solo-trumpet-06.ogg"), Path.Combine(audio, "t1.ogg"));
        File.Copy(Apex.Sample("brahms-hungarian-dance-5.ogg"), Path.Combine(audio, "t2.ogg"));
        Directory.CreateDirectory(Path.Combine(audio, "more"));
        File.Copy(Apex.Sample("macleod-vibe-ace.ogg"), Path.Combine(audio, "more", "t3.ogg"));
        await File.WriteAllTextAsync(Path.Combine(audio, "t4.mp3"), "this is not audio");
        File.Copy(Apex.Sample("sorohan-solo-trumpet-06.ogg"), Path.Combine(audio, "unlabelled.ogg"));
        File.Copy(Apex.Sample("brahms-hungarian-dance-5.ogg"), Path.Combine(audio, "t8.ogg")); // t2's audio again
        File.Copy(Apex.Sample("macleod-vibe-ace.ogg"), Path.Combine(audio, "t9.ogg"));
        var labels = Path.Combine(_folder, "labels.csv");
        await File.WriteAllLinesAsync(labels,
        [
            "track_id,platform,created_at,streams,likes,coherence,naturalness",
            "t1,suno,2025-03-01T10:00:00Z,0,3,4.5,",
            "t2,suno,2025-03-02,120,40,,",
            "t3,suno,2025-03-03,30,1,2.0,3.5",
            "t4,udio,2025-03-04,10,2,,",
            "t5,udio,2025-03-05,99,9,,",
            "t6,udio,2025-03-06,lots,9,,",
            "t7,udio,2025-03-07,5,1,7,",
            "t8,suno,2025-03-04,50,5,,",
            "t9,udio,2025-03-20,70,0,,",
        ]);
        var output = Path.Combine(_folder, "ds.parquet");

        var (exit, _, stderr) = await Apex.RunAsync("dataset", "build", "--audio", audio, "--labels", labels, "--out", output);

        Assert.True(exit == 0, stderr);
        Assert.Contains("labels.csv:7: streams and likes must be non-negative whole numbers", stderr, StringComparison.Ordinal);
        Assert.Contains("labels.csv:8: coherence '7' is not a score in 1..5", stderr, StringComparison.Ordinal);
        Assert.Contains("no audio file named 't5.*'", stderr, StringComparison.Ordinal);
        Assert.Contains("track 't4'", stderr, StringComparison.Ordinal);
        // The paper's curation, before anything is embedded: zero streams, younger than 14 days at the
        // newest created_at (2025-03-20), the same audio as an earlier song.
        Assert.Contains("1 dropped (zero streams): t1", stderr, StringComparison.Ordinal);
        Assert.Contains("1 dropped (too young): t9: created 2025-03-20, less than 14 days before 2025-03-20", stderr, StringComparison.Ordinal);
        Assert.Contains("1 dropped (duplicate audio): t8: the same audio as track 't2'", stderr, StringComparison.Ordinal);
        Assert.Contains("2 songs written", stderr, StringComparison.Ordinal);
        Assert.Contains("(2 embedded now, 0 from the cache)", stderr, StringComparison.Ordinal);
        Assert.Contains("1 audio files had no labels", stderr, StringComparison.Ordinal);

        var rows = (await ParquetDataset.ReadAllAsync(output)).ToDictionary(r => r.TrackId);
        Assert.Equal(["t2", "t3"], rows.Keys.Order());
        // One population over the dataset: 120 and 30 streams rank 1.0 and 0.5; 40 and 1 likes likewise.
        Assert.Equal(100f, rows["t2"].Streams);
        Assert.Equal((float)(100 * Math.Pow(0.5, Math.Log(0.5) / Math.Log(0.8))), rows["t3"].Streams!.Value, 4);
        Assert.Equal(rows["t3"].Streams, rows["t3"].Likes);
        Assert.Null(rows["t2"].Coherence);
        Assert.Equal(2.0f, rows["t3"].Coherence);
        Assert.Equal(3, rows["t3"].Segments);
        var info = await ParquetDataset.ReadInfoAsync(output);
        Assert.Equal((4, 32), (info.Layers, info.Hidden));
        // The encoder's identity travels with its embeddings: name, content hash, shape and rate.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx"))));
        Assert.Equal($"tiny-mert (sha256:{hash[..16]}, 4×32, 24000 Hz)", info.Encoder);

        var (again, _, log) = await Apex.RunAsync("dataset", "build", "--audio", audio, "--labels", labels, "--out", output);
        Assert.Equal(0, again);
        Assert.Contains("0 embedded now, 2 from the cache", log, StringComparison.Ordinal);
    }
}
