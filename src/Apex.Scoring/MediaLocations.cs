namespace Apex.Scoring;

/// <summary>Turns a registered audio location into a file: "upload:{name}" under the uploads folder, else a path under the media root.</summary>
public sealed record MediaLocations(string? MediaRoot, string UploadsFolder)
{
    public const string UploadPrefix = "upload:";

    public string Resolve(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.StartsWith(UploadPrefix, StringComparison.Ordinal))
        {
            return Path.Combine(UploadsFolder, Path.GetFileName(location[UploadPrefix.Length..]));
        }

        // Registration checked the path against the media root; a root changed since is checked again here.
        var root = Path.GetFullPath(MediaRoot ?? throw new InvalidOperationException("This silo has no media root (Apex:MediaRoot) to read registered audio paths from.")) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(root, location));
        return full.StartsWith(root, StringComparison.Ordinal)
            ? full
            : throw new InvalidOperationException($"The audio path '{location}' is outside the media root.");
    }
}
