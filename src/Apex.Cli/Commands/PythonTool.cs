using System.Diagnostics;
using System.Text.Json;

namespace Apex.Cli.Commands;

/// <summary>
/// Runs a reference script of <c>tools/</c> under Debian's <c>/usr/bin/python3</c> (the one that sees
/// python3-sklearn and python3-torch) and reads the JSON it prints. Benchmarks only: the product is C#.
/// </summary>
internal static class PythonTool
{
    public static async Task<JsonElement> RunAsync(string relativePath, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var script = Path.Combine(AppContext.BaseDirectory, relativePath);
        if (!File.Exists(script))
        {
            script = Path.GetFullPath(relativePath);
        }

        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(script)} failed: {await stderr}");
        }

        return JsonDocument.Parse(await stdout).RootElement.Clone();
    }
}
