using System.Net;
using System.Text.RegularExpressions;

namespace Apex.Silo.Tests;

/// <summary>An address that keeps sending unknown keys is refused (429) before any lookup, valid key or not, until its budget refills.</summary>
public sealed partial class AuthThrottleTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-auth-throttle-").FullName;
    private SiloProcess _silo = null!;

    public async Task InitializeAsync() => _silo = await SiloProcess.StartAsync(_data, _data, "--Apex:BurstPerKey=500", "--Apex:RequestsPerSecondPerKey=500");

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Unknown_keys_past_the_budget_get_429_with_retry_after_then_the_budget_refills()
    {
        using var guesser = _silo.ClientWith("apex_guess_0000000000000000000000");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < Silo.Auth.AuthFailureThrottle.Burst + 5; i++)
        {
            statuses.Add((await guesser.GetAsync(new Uri("/platforms/suno/tracks", UriKind.Relative))).StatusCode);
        }

        Assert.All(statuses.Take(Silo.Auth.AuthFailureThrottle.Burst), s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.All(statuses.Skip(Silo.Auth.AuthFailureThrottle.Burst), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        // From the same address even a valid key waits: the check comes before any lookup.
        var blocked = await _silo.Http.GetAsync(new Uri("/platforms/suno/tracks", UriKind.Relative));
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.NotNull(blocked.Headers.RetryAfter?.Delta);
        // Requests without a key are not refused by it (health, metrics).
        using var anonymous = _silo.ClientWith(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);

        await Task.Delay(Silo.Auth.AuthFailureThrottle.RefillEvery + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await _silo.Http.GetAsync(new Uri("/platforms/suno/tracks", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_forged_X_Forwarded_For_does_not_give_a_guesser_a_fresh_budget()
    {
        // No proxy is trusted by default: the peer address counts, whatever the client claims to forward for.
        using var guesser = _silo.ClientWith("apex_guess_0000000000000000000000");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < Silo.Auth.AuthFailureThrottle.Burst + 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/platforms/suno/tracks", UriKind.Relative));
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            statuses.Add((await guesser.SendAsync(request)).StatusCode);
        }

        Assert.All(statuses.Skip(Silo.Auth.AuthFailureThrottle.Burst), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
    }

    [Fact]
    public async Task Console_sign_in_is_refused_before_any_lookup_once_the_address_is_past_its_budget()
    {
        using var guesser = _silo.ClientWith("apex_guess_0000000000000000000000");
        for (var i = 0; i < Silo.Auth.AuthFailureThrottle.Burst; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync(new Uri("/platforms/suno/tracks", UriKind.Relative))).StatusCode);
        }

        // Even the right key is refused: sign-in waits like the API does, and no session is made.
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = _silo.Http.BaseAddress };
        var form = await browser.GetStringAsync(new Uri("/console/signin", UriKind.Relative));
        var fields = HiddenInput().Matches(form).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        Assert.Contains("__RequestVerificationToken", fields.Keys);
        fields["Input.Key"] = SiloProcess.AdminKey;
        using var answer = await browser.PostAsync(new Uri("/console/signin", UriKind.Relative), new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.TooManyRequests, answer.StatusCode);
        Assert.NotNull(answer.Headers.RetryAfter?.Delta);
        Assert.Contains("Too many failed sign-ins", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(cookies.GetAllCookies(), c => c.Name == Web.Auth.ConsoleAuth.CookieName);

        // Once the budget refills, the same form signs in.
        await Task.Delay(Silo.Auth.AuthFailureThrottle.RefillEvery + TimeSpan.FromSeconds(1));
        form = await browser.GetStringAsync(new Uri("/console/signin", UriKind.Relative));
        fields = HiddenInput().Matches(form).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        fields["Input.Key"] = SiloProcess.AdminKey;
        using var signedIn = await browser.PostAsync(new Uri("/console/signin", UriKind.Relative), new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Contains(cookies.GetAllCookies(), c => c.Name == Web.Auth.ConsoleAuth.CookieName);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"")]
    private static partial Regex HiddenInput();
}
