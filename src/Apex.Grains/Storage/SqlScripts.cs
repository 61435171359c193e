namespace Apex.Grains.Storage;

/// <summary>The schema scripts embedded in this assembly (Storage/Sql/*.sql).</summary>
internal static class SqlScripts
{
    public static string Read(string name)
    {
        using var stream = typeof(SqlScripts).Assembly.GetManifestResourceStream("Apex.Grains.Storage.Sql." + name)
            ?? throw new InvalidOperationException($"The schema script {name} is not embedded in Apex.Grains.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
