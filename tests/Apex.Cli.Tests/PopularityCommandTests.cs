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
    public async Task Scores_counts_per_platform_and_reports_zero_counts()
    {
        var input = Csv("track_id,platform,count", "a,suno,10", "b,suno,0", "c,suno,40", "d,udio,7", "e,suno,40", "f,suno,20");

        var (exit, stdout, stderr) = await Apex.RunAsync("popularity", "--input", input);

        Assert.Equal(0, exit);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(',')).ToDictionary(r => r[0]);
        Assert.DoesNotContain("b", rows.Keys);
        // suno: 10, 20, 40, 40 → ranks 1, 2, 3.5, 3.5 of 4; udio: one track → p = 1.
        Assert.Equal(0.25, double.Parse(rows["a"][3], CultureInfo.InvariantCulture), 1e-12);
        Assert.Equal(0.875, double.Parse(rows["c"][3], CultureInfo.InvariantCulture), 1e-12);
        Assert.Equal(100 * Math.Pow(0.875, Math.Log(0.5) / Math.Log(0.8)), double.Parse(rows["c"][4], CultureInfo.InvariantCulture), 1e-9);
        Assert.Equal(100.0, double.Parse(rows["d"][4], CultureInfo.InvariantCulture), 1e-12);
        Assert.Contains("1 track(s) with a zero count are not labels", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_lists_labels_and_the_rows_that_are_not_labels()
    {
        var input = Csv("track_id,count", "x,3", "y,0", "z,9");

        var (exit, stdout, _) = await Apex.RunAsync("popularity", "--input", input, "--format", "json");

        Assert.Equal(0, exit);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(["x", "z"], root.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("track_id").GetString()));
        Assert.Equal(50.0 * 0 + 100.0, root.GetProperty("labels")[1].GetProperty("score").GetDouble(), 1e-12);
        Assert.Equal("y", root.GetProperty("not_labels")[0].GetProperty("track_id").GetString());
    }

    [Theory]
    [InlineData(new[] { "track_id,count", "a,5", "b,lots" }, "counts.csv:3", "'lots'")]
    [InlineData(new[] { "track_id,count", "a,5", "c,-2" }, "counts.csv:3", "non-negative")]
    [InlineData(new[] { "track_id,count", "a,5", "a,6" }, "counts.csv:3", "appears twice")]
    [InlineData(new[] { "id,count", "a,5" }, "counts.csv:1", "missing column 'track_id'")]
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
