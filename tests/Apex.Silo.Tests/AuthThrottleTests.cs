using System.Net;

namespace Apex.Silo.Tests;

/// <summary>An address that keeps sending unknown keys is refused (429) before any lookup, valid key or not, until its budget refills.</summary>
public sealed class AuthThrottleTests : IAsyncLifetime
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
}
