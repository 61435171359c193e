using System.Net;
using System.Net.Sockets;

namespace Apex.Grains.Webhooks;

/// <summary>
/// Which URLs a webhook may be sent to: absolute http(s) without credentials in them, whose host is
/// not (and does not resolve to) a loopback, link-local, unspecified or multicast address, so that a
/// subscription cannot aim the cluster at itself or at a cloud metadata service. A deployment whose
/// receivers live on the same host allows loopback by configuration. The sender checks the address it
/// connects to again (a name can resolve elsewhere by then).
/// </summary>
public static class WebhookTargets
{
    /// <summary>Null when the URL may be used; else why not.</summary>
    public static async Task<string?> CheckAsync(string? url, bool allowLoopback, CancellationToken cancellationToken = default)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return "an absolute http or https URL";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "no user name or password in the URL (the signature authenticates deliveries)";
        }

        IPAddress[] addresses;
        try
        {
            addresses = await ResolveAsync(uri.IdnHost, cancellationToken);
        }
        catch (SocketException ex)
        {
            return $"its host does not resolve ({ex.SocketErrorCode})";
        }

        return addresses.Length == 0 ? "its host does not resolve"
            : addresses.FirstOrDefault(a => !Allowed(a, allowLoopback)) is { } refused ? $"its host is {refused}, a loopback, link-local, unspecified or multicast address"
            : null;
    }

    /// <summary>The addresses of a URL's host: the address itself when it is one (IPv6 in brackets or not), else its name's.</summary>
    public static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken = default) =>
        IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);

    /// <summary>Whether a delivery may connect to <paramref name="address"/>.</summary>
    public static bool Allowed(IPAddress address, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return allowLoopback;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            // 0.0.0.0/8 (this network), 169.254.0.0/16 (link-local, cloud metadata), 224.0.0.0/4 (multicast) and above.
            return b[0] != 0 && !(b[0] == 169 && b[1] == 254) && b[0] < 224;
        }

        return !address.Equals(IPAddress.IPv6Any) && !address.IsIPv6LinkLocal && !address.IsIPv6Multicast && !address.IsIPv6SiteLocal;
    }
}
