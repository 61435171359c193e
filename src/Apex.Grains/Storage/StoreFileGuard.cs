using Microsoft.Win32.SafeHandles;

namespace Apex.Grains.Storage;

/// <summary>
/// Tells whether a local store's file is still the one the host opened. Deleted or replaced while the
/// host runs, SQLite keeps writing to the unlinked file, which no restart will see: such writes must
/// not be acknowledged. On Linux the guard holds its own descriptor of the file and reads where it
/// points (<c>/proc/self/fd</c> says "(deleted)" once the name is gone or names another file); elsewhere
/// it checks that the path exists.
/// </summary>
public sealed class StoreFileGuard : IDisposable
{
    private readonly string _path;
    private readonly SafeFileHandle? _handle;
    private readonly string? _descriptorLink;

    private StoreFileGuard(string path, SafeFileHandle? handle, string? descriptorLink)
    {
        _path = path;
        _handle = handle;
        _descriptorLink = descriptorLink;
    }

    /// <summary>Guards the file at <paramref name="path"/>, which must exist.</summary>
    public static StoreFileGuard Open(string path)
    {
        var full = Path.GetFullPath(path);
        if (!OperatingSystem.IsLinux())
        {
            return new StoreFileGuard(full, null, null);
        }

        // Read-only, sharing everything: SQLite's own locks are unaffected while this stays open (it is
        // closed only after the store's connections).
        var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StoreFileGuard(full, handle, $"/proc/self/fd/{handle.DangerousGetHandle()}");
    }

    public bool IsIntact
    {
        get
        {
            if (_descriptorLink is null)
            {
                return File.Exists(_path);
            }

            var target = new FileInfo(_descriptorLink).LinkTarget;
            return target is not null && !target.EndsWith(" (deleted)", StringComparison.Ordinal) && File.Exists(_path);
        }
    }

    /// <summary>Throws <see cref="StoreLostException"/> when the file was deleted or replaced.</summary>
    public void ThrowIfLost()
    {
        if (!IsIntact)
        {
            throw new StoreLostException(_path);
        }
    }

    public void Dispose() => _handle?.Dispose();
}

/// <summary>A local store's file was deleted or replaced while the host ran; an I/O error (503), never acknowledged.</summary>
public sealed class StoreLostException(string path)
    : IOException($"The store {path} was deleted or replaced while the host ran: nothing written since is acknowledged. Stop the host, then restore the file or run `apex db repair`.", EIO)
{
    private const int EIO = 5;

    public string Path { get; } = path;
}
