using System.Security.Cryptography;

namespace Apex.Core.Files;

/// <summary>SHA-256 of a file's content, lower-case hex: how the project tells files apart by content (encoders, duplicate audio).</summary>
public static class FileHash
{
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken = default)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }
}
