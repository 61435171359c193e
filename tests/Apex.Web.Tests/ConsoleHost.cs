using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Apex.Web.Tests;

/// <summary>
/// The real host in its own process with real data, and Debian's Chromium driven by Playwright: mature
/// and young tracks on the bundled recordings, scored by the synthetic-demo head, with streams and likes,
/// arena battles refitted into a leaderboard, and a second model version to promote.
/// </summary>
public sealed class ConsoleHost : IAsyncLifetime
{
    private static readonly string[] Songs = ["brahms-hungarian-dance-5.ogg", "macleod-sugar-plum-fairy.ogg", "macleod-vibe-ace.ogg", "sorohan-solo-trumpet-06.ogg"];
    private static readonly string[] Systems = ["suno-v4", "udio-v1", "riffusion"];

    private readonly string _data = Directory.CreateTempSubdirectory("apex-web-tests-").FullName;
    private SiloProcess? _silo;
    private IPlaywright? _playwright;

    public SiloProcess Silo => _silo ?? throw new InvalidOperationException("Not started.");

    public IBrowser Browser { get; private set; } = null!;

    public Uri Address => Silo.Http.BaseAddress!;

    public string Models => Path.Combine(_data, "models");

    /// <summary>Tracks: 8 mature (30 days old), 4 young (3 days old).</summary>
    public IReadOnlyList<string> Tracks { get; } = [.. Enumerable.Range(0, 8).Select(i => $"mature-{i}"), .. Enumerable.Range(0, 4).Select(i => $"young-{i}")];

    /// <summary>Where every test saves its screenshots (README shows them).</summary>
    public static string Screenshots { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        CopyFolder(await SiloProcess.ModelsAsync(), Models);
        _silo = await SiloProcess.StartAsync(Path.Combine(_data, "data"), Path.Combine(AppContext.BaseDirectory, "samples"),
            $"--Apex:ModelsDir={Models}", "--Apex:Arena:RefitInterval=00:00:01", "--Apex:Arena:DailyCapPerVoter=3",
            "--Apex:BurstPerKey=100000", "--Apex:RequestsPerSecondPerKey=100000");
        await SeedAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            // No browser can be downloaded here: Debian's Chromium, which ./test.sh installs.
            ExecutablePath = Environment.GetEnvironmentVariable("APEX_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_playwright is not null)
        {
            await Browser.DisposeAsync();
            _playwright.Dispose();
        }

        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        Directory.Delete(_data, recursive: true);
    }

    /// <summary>A new key of <paramref name="role"/>: its secret and id.</summary>
    public async Task<(string Key, string Id)> CreateKeyAsync(string role, string name)
    {
        var response = await Silo.Http.PostAsJsonAsync(new Uri("/keys", UriKind.Relative), new { role, name });
        response.EnsureSuccessStatusCode();
        var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (created.GetProperty("key").GetString()!, created.GetProperty("id").GetString()!);
    }

    public async Task<JsonElement> GetJsonAsync(string path) =>
        JsonDocument.Parse(await Silo.Http.GetStringAsync(new Uri(path, UriKind.Relative))).RootElement;

    /// <summary>A fresh browser context (its own cookies) signed in with <paramref name="key"/>.</summary>
    public async Task<(IBrowserContext Context, IPage Page)> SignInAsync(string key, string? returnTo = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Address.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(returnTo ?? "/console");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        return (context, page);
    }

    private async Task SeedAsync()
    {
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < Tracks.Count; i++)
        {
            var created = Tracks[i].StartsWith("mature", StringComparison.Ordinal) ? now.AddDays(-30) : now.AddDays(-3);
            var response = await Silo.Http.PostAsJsonAsync(new Uri("/tracks", UriKind.Relative),
                new { track_id = Tracks[i], platform = "suno", created_at = created, audio_path = Songs[i % Songs.Length], instrumental = i % 2 == 0, system = Systems[i % 3], prompt = $"prompt {i / 3}" });
            response.EnsureSuccessStatusCode();
        }

        // Streams and likes differ by track, so that percentiles, calibration and the emerging gap have something to show.
        var events = Tracks.SelectMany((t, i) => new object[]
        {
            new { event_id = $"s-{t}", track_id = t, kind = "stream", count = 10L * (i + 1) * (i + 1), ts = now.AddMinutes(-5) },
            new { event_id = $"l-{t}", track_id = t, kind = "like", count = 2L * (i + 1), ts = now.AddMinutes(-5) },
        }).ToList();
        (await Silo.Http.PostAsJsonAsync(new Uri("/events", UriKind.Relative), new { events })).EnsureSuccessStatusCode();

        var battles = Enumerable.Range(0, 60).Select(i => new
        {
            battle_id = $"b-{i}",
            a_system = Systems[i % 3],
            b_system = Systems[(i + 1) % 3],
            // The earlier system in Systems is the stronger: it wins four of five decided battles; every seventh is a tie.
            vote = i % 7 == 6 ? "tie" : ((i % 3 < (i + 1) % 3) == (i % 5 != 4)) ? "a" : "b",
            instrumental = i % 2 == 0,
            a_track = Tracks[i % 8],
            b_track = Tracks[(i + 3) % 8],
        }).ToList();
        (await Silo.Http.PostAsJsonAsync(new Uri("/battles", UriKind.Relative), new { battles })).EnsureSuccessStatusCode();

        // A second version in the registry: the serving checkpoint under another name, to promote.
        var serving = (await File.ReadAllTextAsync(Path.Combine(Models, "SERVING"))).Trim();
        var copy = Path.Combine(Models, serving + "-copy");
        CopyFolder(Path.Combine(Models, serving), copy);
        var manifest = Path.Combine(copy, "manifest.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest)).Replace($"\"{serving}\"", $"\"{serving}-copy\"", StringComparison.Ordinal));

        var deadline = DateTime.UtcNow.AddSeconds(300);
        while (true)
        {
            var statuses = await Task.WhenAll(Tracks.Select(async t => (await GetJsonAsync($"/tracks/{t}")).GetProperty("scoring").GetProperty("status").GetString()));
            var board = await GetJsonAsync("/leaderboards/overall");
            if (statuses.All(s => s == "scored") && board.GetProperty("systems").GetArrayLength() == 3)
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Seeding did not finish: scoring {string.Join(",", statuses)}; board {board}.\n{Silo.Output}");
            }

            await Task.Delay(500);
        }

        await JudgeReadyAsync();
    }

    /// <summary>
    /// The judge trains on the seeded battles once their tracks are scored (its grain wakes on the first
    /// question): ask until it answers, so that votes can show its prediction.
    /// </summary>
    private async Task JudgeReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var answer = await Silo.Http.PostAsJsonAsync(new Uri("/judge", UriKind.Relative), new { pairs = new[] { new { track_a = Tracks[0], track_b = Tracks[1], instrumental = true } } });
            if (answer.IsSuccessStatusCode)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The judge has no model: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
            }

            await Task.Delay(500);
        }
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }

        foreach (var folder in Directory.GetDirectories(from))
        {
            CopyFolder(folder, Path.Combine(to, Path.GetFileName(folder)));
        }
    }
}
