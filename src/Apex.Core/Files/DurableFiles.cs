using System.Runtime.InteropServices;

namespace Apex.Core.Files;

/// <summary>
/// Puts a finished, synced file into place so that it survives a crash once the call returns: a rename
/// that never replaces an existing file, then an fsync of the folder (the rename itself lives in the
/// folder's entry). .NET has no API to sync a folder, hence the libc calls.
/// </summary>
public static partial class DurableFiles
{
    /// <summary>Moves <paramref name="source"/> to <paramref name="target"/>; false (and nothing moved) when the target already exists.</summary>
    public static bool MoveIntoPlace(string source, string target)
    {
        try
        {
            File.Move(source, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            return false;
        }

        SyncFolder(Path.GetDirectoryName(Path.GetFullPath(target))!);
        return true;
    }

    /// <summary>Deletes a file this process put in place and syncs its folder.</summary>
    public static void Remove(string path)
    {
        File.Delete(path);
        SyncFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Flushes a file written by other code (native writers included) to the disk.</summary>
    public static void SyncFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    public static void SyncFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return; // Windows makes renames durable through NTFS's journal.
        }

        var fd = Open(folder, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"cannot open folder '{folder}' to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"cannot sync folder '{folder}' (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
