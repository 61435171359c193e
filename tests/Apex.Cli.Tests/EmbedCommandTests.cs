using System.Text.Json;

namespace Apex.Cli.Tests;

public sealed class EmbedCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("apex-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Json_has_one_line_per_file_in_input_order_and_failures_go_to_stderr()
    {
        var (exit, stdout, stderr) = await Apex.RunAsync("embed", "--format", "json",
            Apex.Sample("macleod-vibe-ace.ogg"), Path.Combine(_folder, "missing.mp3"), Apex.Sample("sorohan-solo-trumpet-06.ogg"));

        Assert.Equal(1, exit);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.EndsWith("macleod-vibe-ace.ogg", lines[0].GetProperty("path").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("sorohan-solo-trumpet-06.ogg", lines[1].GetProperty("path").GetString(), StringComparison.Ordinal);
        var first = lines[0];
        Assert.Equal(3, first.GetProperty("segments").GetInt32());
        Assert.Equal([3, 6, 9, 12], first.GetProperty("layers").EnumerateArray().Select(l => l.GetInt32()));
        Assert.Equal(32, first.GetProperty("hidden").GetInt32());
        Assert.InRange(first.GetProperty("duration_seconds").GetDouble(), 61.4, 61.5);
        var embedding = first.GetProperty("embedding");
        Assert.Equal(3, embedding.GetArrayLength());
        Assert.All(embedding.EnumerateArray(), s =>
        {
            Assert.Equal(4, s.GetArrayLength());
            Assert.All(s.EnumerateArray(), l => Assert.Equal(32, l.GetArrayLength()));
        });
        Assert.Contains("missing.mp3: file not found", stderr, StringComparison.Ordinal);
        Assert.Contains("bundled fixture", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_is_searched_recursively_for_audio_files_only()
    {
        var nested = Directory.CreateDirectory(Path.Combine(_folder, "nested")).FullName;
        File.Copy(Apex.Sample("sorohan-solo-trumpet-06.ogg"), Path.Combine(nested, "b.ogg"));
        File.Copy(Apex.Sample("sorohan-solo-trumpet-06.ogg"), Path.Combine(_folder, "a.ogg"));
        await File.WriteAllTextAsync(Path.Combine(_folder, "notes.txt"), "not audio");

        var (exit, stdout, _) = await Apex.RunAsync("embed", "--format", "json", _folder);

        Assert.Equal(0, exit);
        var paths = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("path").GetString()).ToList();
        Assert.Equal([Path.Combine(_folder, "a.ogg"), Path.Combine(nested, "b.ogg")], paths);
    }

    [Fact]
    public async Task An_input_list_can_score_part_of_a_file()
    {
        var list = Path.Combine(_folder, "list.jsonl");
        await File.WriteAllLinesAsync(list,
        [
            JsonSerializer.Serialize(new { path = Apex.Sample("macleod-sugar-plum-fairy.ogg"), start_seconds = 30.0, end_seconds = 70.0 }),
            "",
            JsonSerializer.Serialize(new { path = Apex.Sample("sorohan-solo-trumpet-06.ogg") }),
        ]);

        var (exit, stdout, _) = await Apex.RunAsync("embed", "--format", "json", "--input-list", list);

        Assert.Equal(0, exit);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(40.0, lines[0].GetProperty("duration_seconds").GetDouble(), 0.01);
        Assert.Equal(2, lines[0].GetProperty("segments").GetInt32());
        Assert.Equal(1, lines[1].GetProperty("segments").GetInt32());
    }

    [Theory]
    [InlineData("{\"path\": 42}", "non-empty string \"path\"")]
    [InlineData("{\"path\": \"x.mp3\", \"start_seconds\": 10, \"end_seconds\": 5}", "start_seconds < end_seconds")]
    [InlineData("not json", "not valid JSON")]
    public async Task A_bad_input_list_line_is_reported_with_its_line_number_and_nothing_runs(string badLine, string reason)
    {
        var list = Path.Combine(_folder, "list.jsonl");
        await File.WriteAllLinesAsync(list, [JsonSerializer.Serialize(new { path = Apex.Sample("sorohan-solo-trumpet-06.ogg") }), badLine]);

        var (exit, stdout, stderr) = await Apex.RunAsync("embed", "--format", "json", "--input-list", list);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("list.jsonl:2", stderr, StringComparison.Ordinal);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_that_breaks_the_encoder_contract_is_refused()
    {
        var model = Path.Combine(AppContext.BaseDirectory, "contract", "no-layers-metadata.onnx");

        var (exit, _, stderr) = await Apex.RunAsync("embed", "--encoder", model, Apex.Sample("sorohan-solo-trumpet-06.ogg"));

        Assert.Equal(2, exit);
        Assert.Contains("apex.layers", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_to_embed_is_an_error()
    {
        var (exit, _, stderr) = await Apex.RunAsync("embed", _folder);

        Assert.Equal(2, exit);
        Assert.Contains("no audio to embed", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Table_format_summarises_every_file()
    {
        var (exit, stdout, _) = await Apex.RunAsync("embed", "--device", "cpu", Apex.Sample("brahms-hungarian-dance-5.ogg"));

        Assert.Equal(0, exit);
        Assert.Contains("brahms-hungarian", stdout, StringComparison.Ordinal);
        Assert.Contains("45.84", stdout, StringComparison.Ordinal);
    }
}
