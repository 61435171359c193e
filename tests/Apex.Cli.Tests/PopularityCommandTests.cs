using System.Globalization;
using System.Text.Json;

namespace Apex.Cli.Tests;

public sealed class PopularityCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Csv(params string[] lines)
    {
        var path = Path.Combine(_folder, "counts.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public async Task Scores_counts_in_one_population_by_default_or_per_platform_and_reports_zero_streams()
    {
        var input = Csv("track_id,platform,count", "a,suno,10", "b,suno,0", "c,suno,40", "d,udio,7", "e,suno,40", "f,suno,20");

        var (exit, stdout, stderr) = await Apex.RunAsync("popularity", "--input", input);
        var (perExit, perPlatform, _) = await Apex.RunAsync("popularity", "--input", input, "--population", "platform");

        Assert.Equal(0, exit);
        Assert.Equal(0, perExit);
        var rows = Rows(stdout);
        Assert.DoesNotContain("b", rows.Keys);
        // The dataset: 7, 10, 20, 40, 40 → ranks 1, 2, 3, 4.5, 4.5 of 5.
        Assert.Equal(0.2, double.Parse(rows["d"][3], CultureInfo.InvariantCulture), 1e-12);
        Assert.Equal(0.9, double.Parse(rows["c"][3], CultureInfo.InvariantCulture), 1e-12);
        Assert.Equal(100 * Math.Pow(0.9, Math.Log(0.5) / Math.Log(0.8)), double.Parse(rows["c"][4], CultureInfo.InvariantCulture), 1e-9);
        Assert.Contains("1 dropped (zero streams): b", stderr, StringComparison.Ordinal);
        Assert.Contains("one population over the dataset", stderr, StringComparison.Ordinal);

        // Per platform, as the live cluster ranks: suno 10, 20, 40, 40 → 1, 2, 3.5, 3.5 of 4; udio alone → 1.
        var platform = Rows(perPlatform);
        Assert.Equal(0.25, double.Parse(platform["a"][3], CultureInfo.InvariantCulture), 1e-12);
        Assert.Equal(0.875, double.Parse(platform["c"][3], CultureInfo.InvariantCulture), 1e-12);
        Assert.Equal(100.0, double.Parse(platform["d"][4], CultureInfo.InvariantCulture), 1e-12);
    }

    private static Dictionary<string, string[]> Rows(string csv) =>
        csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Trim().Split(',')).ToDictionary(r => r[0]);

    [Fact]
    public async Task Streams_and_likes_are_curated_like_the_paper_and_zero_likes_have_two_readings()
    {
        var input = Csv("track_id,platform,created_at,streams,likes,content_hash",
            "a,suno,2025-01-01,10,0,h1",
            "b,suno,2025-01-02,20,5,h2",
            "c,udio,2025-01-03,30,5,h1",
            "d,udio,2025-01-04,40,8,h4",
            "e,udio,2025-03-01,50,9,h5");

        var (exit, stdout, stderr) = await Apex.RunAsync("popularity", "--input", input, "--format", "json");
        var (unlabelledExit, unlabelled, _) = await Apex.RunAsync("popularity", "--input", input, "--format", "json", "--zero-likes", "unlabelled", "--as-of", "2025-04-01");

        Assert.True(exit == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        // e is younger than 14 days at the newest created_at; c has a's audio.
        Assert.Equal(["a", "b", "d"], root.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("track_id").GetString()));
        Assert.Equal(["c:duplicate", "e:too_young"], root.GetProperty("dropped").EnumerateArray().Select(d => $"{d.GetProperty("track_id").GetString()}:{d.GetProperty("reason").GetString()}"));
        // Ranked: a's zero likes rank lowest (1/3); unlabelled (and e old enough as of 2025-04-01): a has
        // no likes label, and b ranks lowest of the three songs with likes.
        Assert.Equal(1 / 3.0, root.GetProperty("labels")[0].GetProperty("likes_percentile").GetDouble(), 1e-12);
        Assert.Equal(0, unlabelledExit);
        var other = JsonDocument.Parse(unlabelled).RootElement.GetProperty("labels").EnumerateArray().ToDictionary(l => l.GetProperty("track_id").GetString()!);
        Assert.Equal(JsonValueKind.Null, other["a"].GetProperty("likes_percentile").ValueKind);
        Assert.Equal(1 / 3.0, other["b"].GetProperty("likes_percentile").GetDouble(), 1e-12);
        Assert.Equal(4, other.Count);
    }

    [Fact]
    public async Task Json_lists_labels_and_the_songs_left_out()
    {
        var input = Csv("track_id,count", "x,3", "y,0", "z,9");

        var (exit, stdout, _) = await Apex.RunAsync("popularity", "--input", input, "--format", "json");

        Assert.Equal(0, exit);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(["x", "z"], root.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("track_id").GetString()));
        Assert.Equal(100.0, root.GetProperty("labels")[1].GetProperty("streams_score").GetDouble(), 1e-12);
        Assert.Equal("y", root.GetProperty("dropped")[0].GetProperty("track_id").GetString());
        Assert.Equal("zero_streams", root.GetProperty("dropped")[0].GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData(new[] { "track_id,count", "a,5", "b,lots" }, "counts.csv:3", "'lots'")]
    [InlineData(new[] { "track_id,count", "a,5", "c,-2" }, "counts.csv:3", "non-negative")]
    [InlineData(new[] { "track_id,count", "a,5", "a,6" }, "counts.csv:3", "appears twice")]
    [InlineData(new[] { "id,count", "a,5" }, "counts.csv:1", "missing column 'track_id'")]
    [InlineData(new[] { "track_id,likes", "a,5" }, "counts.csv:1", "missing column 'streams'")]
    [InlineData(new[] { "track_id,streams,created_at", "a,5,soon" }, "counts.csv:2", "not a date")]
    [InlineData(new[] { "track_id,count", ",5" }, "counts.csv:2", "empty track_id")]
    public async Task A_bad_row_is_reported_with_its_line_number(string[] lines, string where, string reason)
    {
        var input = Csv(lines);

        var (exit, stdout, stderr) = await Apex.RunAsync("popularity", "--input", input);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains(where, stderr, StringComparison.Ordinal);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
    }
}
