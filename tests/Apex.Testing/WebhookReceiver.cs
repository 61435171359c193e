using System.Collections.Concurrent;
using System.Net;

namespace Apex.Testing;

/// <summary>
/// A webhook receiver on a free loopback port, as a platform would run one: it records every request
/// (headers and raw body) and answers with what <see cref="Answer"/> decides for it.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<Received> _requests = new();
    private readonly Task _loop;

    public sealed record Received(string Path, string? DeliveryId, string? Event, string? Attempt, string? Signature, string? ContentType, byte[] Body, DateTimeOffset At, int Answered);

    private WebhookReceiver()
    {
        var chosen = SiloProcess.FreePort();
        Url = new Uri($"http://127.0.0.1:{chosen}/hooks/");
        _listener.Prefixes.Add($"http://127.0.0.1:{chosen}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>Listens on a free loopback port; deliveries go to <see cref="Url"/>.</summary>
    public static WebhookReceiver Start() => new();

    public Uri Url { get; }

    /// <summary>The status code a request gets (it may wait first); 200 unless set.</summary>
    public Func<Received, Task<int>> Answer { get; set; } = _ => Task.FromResult(200);

    public IReadOnlyList<Received> Requests => _requests.ToList();

    /// <summary>Waits until the requests so far satisfy <paramref name="done"/>.</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(Func<IReadOnlyList<Received>, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done(Requests))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The receiver did not see {what} within {timeout.TotalSeconds:0} s; it saw: {string.Join("; ", Requests.Select(r => $"{r.DeliveryId} #{r.Attempt} → {r.Answered}"))}");
            }

            await Task.Delay(100);
        }

        return Requests;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var headers = context.Request.Headers;
            var received = new Received(context.Request.Url!.AbsolutePath, headers["Apex-Delivery"], headers["Apex-Event"], headers["Apex-Delivery-Attempt"], headers["Apex-Signature"],
                context.Request.ContentType, body.ToArray(), DateTimeOffset.UtcNow, 0);
            var status = await Answer(received);
            _requests.Enqueue(received with { Answered = status });
            context.Response.StatusCode = status;
            if (status is >= 300 and < 400)
            {
                context.Response.RedirectLocation = "/elsewhere";
            }

            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The sender gave up on this request (its timeout).
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
