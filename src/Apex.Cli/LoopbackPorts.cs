using System.Net;
using System.Net.Sockets;

namespace Apex.Cli;

/// <summary>Free loopback ports for the hosts (and their silo and gateway) that benchmarks start in this process.</summary>
internal static class LoopbackPorts
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
