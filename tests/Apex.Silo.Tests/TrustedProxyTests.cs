using System.Net;

namespace Apex.Silo.Tests;

/// <summary>Behind a configured proxy, each forwarded client has its own failure budget; nobody else's X-Forwarded-For is believed.</summary>
public sealed class TrustedProxyTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-trusted-proxy-").FullName;
    private SiloProcess _silo = null!;

    // The test talks to the host over loopback, so loopback plays the proxy.
    public async Task InitializeAsync() => _silo = await SiloProcess.StartAsync(_data, _data, "--Apex:TrustedProxies:0=127.0.0.1", "--Apex:TrustedProxies:1=::1");

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private static async Task<HttpStatusCode> GuessAsync(HttpClient guesser, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/platforms/suno/tracks", UriKind.Relative));
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return (await guesser.SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task Failed_authentications_count_against_the_forwarded_client_not_the_proxy()
    {
        using var guesser = _silo.ClientWith("apex_guess_0000000000000000000000");
        for (var i = 0; i < Silo.Auth.AuthFailureThrottle.Burst; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await GuessAsync(guesser, "198.51.100.7"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await GuessAsync(guesser, "198.51.100.7"));
        // Another client behind the same proxy is not locked out by the first one's guesses.
        Assert.Equal(HttpStatusCode.Unauthorized, await GuessAsync(guesser, "198.51.100.8"));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/platforms/suno/tracks", UriKind.Relative));
        request.Headers.Add("X-Forwarded-For", "198.51.100.9");
        Assert.Equal(HttpStatusCode.OK, (await _silo.Http.SendAsync(request)).StatusCode);
    }
}
