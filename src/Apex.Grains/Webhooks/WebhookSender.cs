using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;

namespace Apex.Grains.Webhooks;

/// <summary>
/// Sends one delivery: a signed JSON POST. The connection is made here, to an address checked with
/// <see cref="WebhookTargets.Allowed"/> (a name may resolve elsewhere than when the subscription was
/// made), without a proxy and without following redirects, so a target cannot lead the cluster to an
/// address it may not reach. A 2xx answer is a delivery; anything else, or no answer within the
/// timeout, is retried.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    public const string DeliveryHeader = "Apex-Delivery";
    public const string EventHeader = "Apex-Event";
    public const string AttemptHeader = "Apex-Delivery-Attempt";

    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    public WebhookSender(IOptions<WebhookOptions> options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _time = time ?? TimeProvider.System;
        var allowLoopback = settings.AllowLoopback;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = settings.Timeout,
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, allowLoopback, cancellationToken),
        };
        _http = new HttpClient(handler) { Timeout = settings.Timeout };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("ApexCluster-Webhooks/1");
    }

    /// <summary>Posts <paramref name="delivery"/> signed now; never throws for the target's faults.</summary>
    public async Task<DeliveryAttempt> SendAsync(DueDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var body = Encoding.UTF8.GetBytes(delivery.Body);
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(delivery.Secrets, _time.GetUtcNow().ToUnixTimeSeconds(), body));
        request.Headers.Add(DeliveryHeader, delivery.Id);
        request.Headers.Add(EventHeader, delivery.Type);
        request.Headers.Add(AttemptHeader, (delivery.Attempts + 1).ToString(CultureInfo.InvariantCulture));
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var code = (int)response.StatusCode;
            return response.IsSuccessStatusCode ? new DeliveryAttempt(true, code, null) : new DeliveryAttempt(false, code, $"the receiver answered {code} {response.ReasonPhrase}".TrimEnd());
        }
        catch (HttpRequestException ex)
        {
            return new DeliveryAttempt(false, null, Reason(ex));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryAttempt(false, null, $"no answer within {_http.Timeout.TotalSeconds:0.#} s");
        }
    }

    public void Dispose() => _http.Dispose();

    private static string Reason(HttpRequestException ex) =>
        ex.InnerException is RefusedTargetException refused ? refused.Message
        : ex.InnerException is SocketException socket ? $"could not connect ({socket.SocketErrorCode})"
        : ex.Message;

    /// <summary>Resolves the target and connects to its first address a delivery may use.</summary>
    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowLoopback, CancellationToken cancellationToken)
    {
        var addresses = await WebhookTargets.ResolveAsync(endpoint.Host, cancellationToken);
        var allowed = addresses.Where(a => WebhookTargets.Allowed(a, allowLoopback)).ToArray();
        if (allowed.Length == 0)
        {
            throw new RefusedTargetException($"refused: {endpoint.Host} is {string.Join(", ", addresses.Select(a => a.ToString()))}, a loopback, link-local, unspecified or multicast address");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class RefusedTargetException(string message) : IOException(message);
}
