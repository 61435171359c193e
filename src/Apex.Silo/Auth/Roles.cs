namespace Apex.Silo.Auth;

/// <summary>API key roles. Each includes the ones before it: an admin can ingest, an ingester can read.</summary>
public static class Roles
{
    public const string Reader = "reader";
    public const string Ingest = "ingest";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Reader, Ingest, Admin];

    /// <summary>The roles a key of <paramref name="role"/> holds.</summary>
    public static IEnumerable<string> Implied(string role) => All.Take(All.ToList().IndexOf(role) + 1);

    public static bool IsKnown(string role) => All.Contains(role);
}
