namespace Apex.Audio.Decoding;

/// <summary>Finds the folder holding both ffmpeg and ffprobe, so a missing install is reported up front.</summary>
public static class FfmpegLocator
{
    /// <exception cref="FileNotFoundException">ffmpeg or ffprobe is not in <paramref name="folder"/> (or on PATH when null).</exception>
    public static string Locate(string? folder)
    {
        var candidates = folder is not null
            ? [folder]
            : (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var dir in candidates)
        {
            if (IsExecutable(Path.Combine(dir, "ffmpeg")) && IsExecutable(Path.Combine(dir, "ffprobe")))
            {
                return Path.GetFullPath(dir);
            }
        }

        var where = folder is not null ? $"in '{folder}'" : "on PATH";
        throw new FileNotFoundException($"ffmpeg and ffprobe were not found {where}. Install them (Debian/Ubuntu: sudo apt-get install ffmpeg) or set the ffmpeg folder.");
    }

    private static bool IsExecutable(string file) =>
        File.Exists(file) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
}
