namespace Apex.Web;

/// <summary>The console's stylesheet and script, embedded in this assembly and served under <see cref="Path"/>.</summary>
public static class ConsoleAssets
{
    public const string Path = "/console/assets";

    // The version in the query string changes with the build, so the long cache never serves a stale file.
    private static readonly string Version = typeof(ConsoleAssets).Assembly.ManifestModule.ModuleVersionId.ToString("N")[..12];

    public static string Stylesheet { get; } = $"{Path}/console.css?v={Version}";

    public static string Script { get; } = $"{Path}/console.js?v={Version}";
}
