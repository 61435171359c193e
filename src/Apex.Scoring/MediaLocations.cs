namespace Apex.Scoring;

/// <summary>
/// Turns a registered audio location into a file: "upload:{name}" under the uploads folder, else a path
/// under the media root. Symbolic links are followed before the check, so a link inside the root that
/// points outside it is refused exactly like a path that does: nothing outside the root is ever read.
/// </summary>
public sealed record MediaLocations(string? MediaRoot, string UploadsFolder)
{
    public const string UploadPrefix = "upload:";

    private const int MaxLinks = 40;

    public string Resolve(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.StartsWith(UploadPrefix, StringComparison.Ordinal))
        {
            return Inside(UploadsFolder, Path.GetFileName(location[UploadPrefix.Length..]))?.FullName
                ?? throw new InvalidOperationException($"The upload '{location}' is outside the uploads folder.");
        }

        // Registration checked the path against the media root; a root or link changed since is checked again here.
        var root = MediaRoot ?? throw new InvalidOperationException("This silo has no media root (Apex:MediaRoot) to read registered audio paths from.");
        return Inside(root, location)?.FullName ?? throw new InvalidOperationException($"The audio path '{location}' is outside the media root.");
    }

    /// <summary>
    /// The file at the real path of <paramref name="relative"/> under <paramref name="root"/> when, links
    /// followed, it stays inside the root; else null. Its status is read once (one lstat for a plain file,
    /// which a bulk registration pays per track), so the caller's checks of it cost nothing more.
    /// </summary>
    /// <param name="root">The root the path must stay inside.</param>
    /// <param name="relative">The path, relative to the root.</param>
    /// <param name="folders">Real paths of folders already resolved (a batch of paths shares it); null: none.</param>
    public static FileInfo? Inside(string root, string relative, Dictionary<string, string>? folders = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(relative);
        if (relative.Length == 0 || Path.IsPathRooted(relative))
        {
            return null;
        }

        var realRoot = Cached(root, folders).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        FileInfo file;
        try
        {
            // realpath(dir/name) is realpath(realpath(dir)/name): the folder is resolved once per batch.
            var full = Path.GetFullPath(Path.Combine(root, relative));
            var candidate = new FileInfo(Path.Combine(Cached(Path.GetDirectoryName(full) ?? full, folders), Path.GetFileName(full)));
            // A missing file's attributes are all bits set, so only an existing plain file skips the walk.
            file = candidate.Exists && (candidate.Attributes & FileAttributes.ReparsePoint) == 0 ? candidate : new FileInfo(RealPath(candidate.FullName));
        }
        catch (IOException)
        {
            return null; // a link loop
        }

        return file.FullName.StartsWith(realRoot, StringComparison.Ordinal) ? file : null;
    }

    /// <summary><see cref="RealPath(string)"/>, remembered in <paramref name="folders"/> when given.</summary>
    public static string Cached(string path, Dictionary<string, string>? folders)
    {
        if (folders is null)
        {
            return RealPath(path);
        }

        if (!folders.TryGetValue(path, out var real))
        {
            folders[path] = real = RealPath(path);
        }

        return real;
    }

    /// <summary>
    /// The absolute path with every symbolic link on the way followed, as realpath(3) gives it (parts that
    /// do not exist are kept as they are). By hand because .NET follows a link only at the last part
    /// (<see cref="FileSystemInfo.ResolveLinkTarget"/>), not in the folders above it.
    /// </summary>
    public static string RealPath(string path) => RealPath(path, 0);

    private static string RealPath(string path, int links)
    {
        var full = Path.GetFullPath(path);
        var current = Path.GetPathRoot(full)!;
        foreach (var part in full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new IOException($"Too many levels of symbolic links at {next}.");
            }

            current = RealPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target), links);
        }

        return current;
    }
}
