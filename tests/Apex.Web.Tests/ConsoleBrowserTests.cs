using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Apex.Web.Tests;

/// <summary>
/// The console in a real browser against a running host with real data: sign-in and sign-out, every
/// page showing what the JSON API answers, roles page by page and action by action, a revoked key's
/// session, and a promotion with its confirmation step. Each page's screenshot is saved under the test
/// output's <c>screenshots/</c> (README shows them).
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleHost host) : IClassFixture<ConsoleHost>
{
    private static Task<byte[]> ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleHost.Screenshots, name + ".png"), FullPage = true });

    [Fact]
    public async Task An_admin_signs_in_sees_every_page_with_the_hosts_data_and_signs_out()
    {
        var (context, page) = await host.SignInAsync(SiloProcess.AdminKey);
        await using var _ = context;

        // Overview: the counts and calibration the API reports.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console$"));
        Assert.Equal(host.Tracks.Count.ToString(CultureInfo.InvariantCulture), await page.GetByTestId("tracks").InnerTextAsync());
        Assert.Equal(host.Tracks.Count.ToString(CultureInfo.InvariantCulture), await page.GetByTestId("scored").InnerTextAsync());
        var calibration = await host.GetJsonAsync("/platforms/suno/calibration");
        Assert.Equal(calibration.GetProperty("streams").GetProperty("pearson").GetDouble().ToString("0.000", CultureInfo.InvariantCulture), await page.GetByTestId("pearson-streams").InnerTextAsync());
        Assert.Equal(8, await page.Locator("#scatter-streams-title + desc + rect ~ circle").CountAsync());
        await Assertions.Expect(page.GetByText("synthetic-demo").First).ToBeVisibleAsync();
        await ShotAsync(page, "overview");

        // Emerging hits: the young tracks, most under-rated first, sortable, linked to their pages.
        await page.GetByRole(AriaRole.Link, new() { Name = "Emerging hits" }).First.ClickAsync();
        var emerging = (await host.GetJsonAsync("/platforms/suno/emerging")).GetProperty("tracks").EnumerateArray().Select(t => t.GetProperty("track_id").GetString()!).ToList();
        Assert.Equal(4, emerging.Count);
        Assert.Equal(emerging, await page.Locator("table tbody tr td:first-child").AllInnerTextsAsync());
        await ShotAsync(page, "emerging");
        await page.GetByRole(AriaRole.Link, new() { Name = "streams", Exact = true }).ClickAsync();
        var byStreams = await page.Locator("table tbody tr td:first-child").AllInnerTextsAsync();
        Assert.Equal(["young-3", "young-2", "young-1", "young-0"], byStreams);

        // Track: its scores as the API gives them, the segment timeline, and audio the player can fetch by range.
        await page.GetByRole(AriaRole.Link, new() { Name = "young-3" }).ClickAsync();
        var track = await host.GetJsonAsync("/tracks/young-3");
        var predicted = track.GetProperty("scoring").GetProperty("predicted");
        Assert.Equal(predicted.GetProperty("streams").GetDouble().ToString("0.0", CultureInfo.InvariantCulture), await page.GetByTestId("predicted-streams").InnerTextAsync());
        Assert.Equal(predicted.GetProperty("coherence").GetDouble().ToString("0.00", CultureInfo.InvariantCulture), await page.GetByTestId("predicted-coherence").InnerTextAsync());
        Assert.Equal("scored", await page.GetByTestId("status").Locator(".badge").InnerTextAsync());
        Assert.Equal(track.GetProperty("system").GetString(), await page.GetByTestId("system").InnerTextAsync());
        await Assertions.Expect(page.GetByRole(AriaRole.Img, new() { Name = "Predicted scores of young-3 per 30 s segment" })).ToBeVisibleAsync();
        var src = await page.Locator("audio#player").GetAttributeAsync("src");
        var audio = await page.APIRequest.GetAsync(src!, new APIRequestContextOptions { Headers = new Dictionary<string, string> { ["Range"] = "bytes=0-1023" } });
        Assert.Equal(206, audio.Status);
        Assert.Equal(1024, (await audio.BodyAsync()).Length);
        await ShotAsync(page, "track");

        // Arena: the leaderboard's systems and battle counts, as the API reports them.
        await page.GetByRole(AriaRole.Link, new() { Name = "Arena" }).ClickAsync();
        var board = await host.GetJsonAsync("/leaderboards/overall");
        Assert.Equal(board.GetProperty("battles").GetInt64().ToString("N0", CultureInfo.InvariantCulture), await page.GetByTestId("battles").InnerTextAsync());
        foreach (var system in board.GetProperty("systems").EnumerateArray())
        {
            var name = system.GetProperty("system").GetString();
            Assert.Equal(system.GetProperty("battles").GetInt32().ToString("N0", CultureInfo.InvariantCulture), await page.GetByTestId($"battles-{name}").InnerTextAsync());
        }

        await ShotAsync(page, "arena");

        // Models: the registry and the serving version.
        await page.GetByRole(AriaRole.Link, new() { Name = "Models" }).ClickAsync();
        Assert.Equal((await host.GetJsonAsync("/models")).GetProperty("serving").GetString(), await page.GetByTestId("serving").InnerTextAsync());
        await ShotAsync(page, "models");

        // Sign out: the session is gone, and pages ask for a key again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console/signin"));
        await page.GotoAsync("/console/models");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console/signin\\?returnUrl=%2Fconsole%2Fmodels"));
        await ShotAsync(page, "signin");
    }

    [Fact]
    public async Task The_overview_shows_the_clusters_scoring_queue_as_the_backfill_reports_it()
    {
        // A small catalogue on a platform of its own, held by a paused backfill.
        (await host.Silo.Http.PostAsync(new Uri("/backfill/pause", UriKind.Relative), null)).EnsureSuccessStatusCode();
        var tracks = Enumerable.Range(0, 3).Select(i => new { track_id = $"backlog-{i}", platform = "zz-backlog", created_at = "2025-01-01T00:00:00Z", audio_path = "sorohan-solo-trumpet-06.ogg" });
        (await host.Silo.Http.PostAsJsonAsync(new Uri("/tracks/batch", UriKind.Relative), new { tracks })).EnsureSuccessStatusCode();
        var backfill = await host.GetJsonAsync("/backfill");
        Assert.True(backfill.GetProperty("queued").GetInt64() >= 3, $"{backfill}");

        var (context, page) = await host.SignInAsync(SiloProcess.AdminKey);
        await using var _ = context;
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Scoring queue" })).ToBeVisibleAsync();
        Assert.Equal(backfill.GetProperty("queued").GetInt64().ToString("N0", CultureInfo.InvariantCulture), await page.GetByTestId("backfill-queued").InnerTextAsync());
        Assert.Equal(backfill.GetProperty("live_queued").GetInt32().ToString("N0", CultureInfo.InvariantCulture), await page.GetByTestId("live-queued").InnerTextAsync());
        Assert.Equal("0", await page.GetByTestId("backfill-in-flight").InnerTextAsync());
        if (backfill.GetProperty("live_queued").GetInt32() == 0)
        {
            Assert.Equal("–", await page.GetByTestId("live-oldest").InnerTextAsync());
        }

        Assert.Matches(@"^\d+ (s|min)$", await page.GetByTestId("backfill-oldest").InnerTextAsync());
        await Assertions.Expect(page.GetByTestId("backfill-paused")).ToContainTextAsync("The backfill is paused");
        await ShotAsync(page, "overview-queue");
    }

    [Fact]
    public async Task Pages_need_a_session_a_wrong_key_is_refused_and_the_session_cookie_is_httponly_and_strict()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Address };
        var page = await anonymous.GetAsync(new Uri("/console/tracks/mature-0", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/console/signin", page.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        // Console pages load nothing from elsewhere and cannot be framed.
        var signIn = await anonymous.GetAsync(new Uri("/console/signin", UriKind.Relative));
        Assert.Contains("frame-ancestors 'none'", signIn.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", signIn.Headers.GetValues("X-Frame-Options").Single());
        // The API keeps answering 401 problems, and the audio needs a key or a session.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/tracks/mature-0", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/tracks/mature-0/audio", UriKind.Relative))).StatusCode);

        var (context, browser) = await host.SignInAsync("not-a-key-of-this-host-0000000000");
        await using var _ = context;
        await Assertions.Expect(browser.Locator("#signin-error")).ToHaveTextAsync("This key is unknown, revoked or expired.");
        Assert.DoesNotContain(await context.CookiesAsync([host.Address.ToString()]), c => c.Name == "apex_console");

        await browser.GetByLabel("API key").FillAsync(SiloProcess.AdminKey);
        await browser.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(browser).ToHaveURLAsync(new Regex("/console$"));
        var session = (await context.CookiesAsync([host.Address.ToString()])).Single(c => c.Name == "apex_console");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.DoesNotContain(SiloProcess.AdminKey, session.Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reader_reads_every_page_but_may_not_promote_or_roll_back()
    {
        var (key, _) = await host.CreateKeyAsync("reader", "console reader");
        var (context, page) = await host.SignInAsync(key, "/console/models");
        await using var _ = context;

        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console/models$"));
        Assert.Equal(0, await page.GetByRole(AriaRole.Link, new() { Name = "Promote…" }).CountAsync());
        var serving = await page.GetByTestId("serving").InnerTextAsync();
        var denied = await page.GotoAsync($"/console/models?confirm=promote&version={serving}-copy");
        Assert.Equal(403, denied!.Status);
        await Assertions.Expect(page.GetByText("Promote and rollback need an admin key.")).ToBeVisibleAsync();
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = $"Yes, promote {serving}-copy" }).CountAsync());
        Assert.Equal(serving, (await host.GetJsonAsync("/models")).GetProperty("serving").GetString());
    }

    [Fact]
    public async Task Revoking_a_key_ends_its_console_sessions()
    {
        var (key, id) = await host.CreateKeyAsync("reader", "to be revoked");
        var (context, page) = await host.SignInAsync(key);
        await using var _ = context;
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console$"));

        (await host.Silo.Http.DeleteAsync(new Uri($"/keys/{id}", UriKind.Relative))).EnsureSuccessStatusCode();

        // The key store's cache holds an answer for at most 5 s.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            await page.GotoAsync("/console/emerging");
            if (page.Url.Contains("/console/signin", StringComparison.Ordinal))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the revoked key's session still opens pages");
            await Task.Delay(1000);
        }

        Assert.DoesNotContain(await context.CookiesAsync([host.Address.ToString()]), c => c.Name == "apex_console");
    }

    [Fact]
    public async Task An_admin_promotes_a_version_after_confirming_every_silo_serves_it_and_an_open_overview_shows_it_live()
    {
        var (context, page) = await host.SignInAsync(SiloProcess.AdminKey, "/console/models");
        await using var _ = context;
        var serving = await page.GetByTestId("serving").InnerTextAsync();
        // The overview, open in another tab, follows the signal stream.
        var overview = await context.NewPageAsync();
        await overview.GotoAsync(new Uri(host.Address, "/console").ToString());
        await Assertions.Expect(overview.GetByTestId("signals")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Promote…" }).First.ClickAsync();
        var candidate = new Uri(page.Url).Query.Split('=').Last();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Promote {candidate}?" })).ToBeVisibleAsync();
        await ShotAsync(page, "models-confirm");
        Assert.Equal(serving, (await host.GetJsonAsync("/models")).GetProperty("serving").GetString()); // nothing changes before the confirmation

        await page.GetByRole(AriaRole.Button, new() { Name = $"Yes, promote {candidate}" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("action-result")).ToContainTextAsync($"every silo now serves {candidate}");
        Assert.Equal(candidate, (await host.GetJsonAsync("/models")).GetProperty("serving").GetString());
        await Assertions.Expect(page.GetByTestId("serving")).ToHaveTextAsync(candidate);

        // Without a reload, the overview lists the promotion first and names the new serving model.
        await Assertions.Expect(overview.GetByTestId("signals").Locator("li").First).ToContainTextAsync($"model promoted {candidate}");
        await Assertions.Expect(overview.GetByText($"Serving model {candidate}")).ToBeVisibleAsync();
        await ShotAsync(overview, "overview-live-signals");
    }

    [Fact]
    public async Task A_listener_votes_by_key_and_by_button_sees_the_systems_after_each_vote_and_is_stopped_by_the_daily_cap()
    {
        var (key, _) = await host.CreateKeyAsync("reader", "listener");
        var (context, page) = await host.SignInAsync(key, "/console/arena/vote");
        await using var _ = context;
        var before = (await host.GetJsonAsync("/leaderboards/overall")).GetProperty("battles").GetInt64();

        // A prompt the two tracks share, and no system named before the vote.
        await Assertions.Expect(page.GetByTestId("prompt")).ToContainTextAsync("prompt ");
        foreach (var system in new[] { "suno-v4", "udio-v1", "riffusion" })
        {
            Assert.Equal(0, await page.GetByText(system).CountAsync());
        }

        await ShotAsync(page, "vote");
        await page.Keyboard.PressAsync("a");
        await Assertions.Expect(page.GetByTestId("result")).ToContainTextAsync("Your vote is recorded");
        var (a, b) = (await page.GetByTestId("system-a").InnerTextAsync(), await page.GetByTestId("system-b").InnerTextAsync());
        Assert.NotEqual(a, b);
        Assert.Matches(@"gave A a \d+ ?% chance of being preferred", await page.GetByTestId("judge").InnerTextAsync());
        await ShotAsync(page, "vote-result");
        await BattlesReachAsync(before + 1);

        // Two more by button: the fixture's cap is 3 votes a day per voter.
        for (var i = 0; i < 2; i++)
        {
            await page.GetByTestId("next").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = i == 0 ? "B is better" : "Tie" }).ClickAsync();
            await Assertions.Expect(page.GetByTestId("result")).ToContainTextAsync("Your vote is recorded");
        }

        await BattlesReachAsync(before + 3);
        await page.GetByTestId("next").ClickAsync();
        var capped = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Both are bad" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.Equal(429, capped.Status);
        await Assertions.Expect(page.GetByTestId("result")).ToContainTextAsync("You have cast today's 3 votes");
        Assert.Equal(0, await page.GetByTestId("system-a").CountAsync());
        await Task.Delay(2500); // two refits of the board
        Assert.Equal(before + 3, (await host.GetJsonAsync("/leaderboards/overall")).GetProperty("battles").GetInt64());
    }

    /// <summary>The board shows its last refit (every second here): wait for it to count <paramref name="battles"/>.</summary>
    private async Task BattlesReachAsync(long battles)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        long counted;
        while ((counted = (await host.GetJsonAsync("/leaderboards/overall")).GetProperty("battles").GetInt64()) < battles)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the board counts {counted} battles, not {battles}");
            await Task.Delay(250);
        }

        Assert.Equal(battles, counted);
    }
}
