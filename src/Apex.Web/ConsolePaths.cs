namespace Apex.Web;

/// <summary>The console's addresses.</summary>
public static class ConsolePaths
{
    public const string Root = "/console";
    public const string SignIn = "/console/signin";
    public const string SignOut = "/console/signout";
    public const string Denied = "/console/denied";

    /// <summary>A return address that stays inside the console (anything else would be an open redirect).</summary>
    public static string LocalReturn(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith(Root, StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal) && !url.Contains('\\', StringComparison.Ordinal)
            ? url
            : Root;
}
