namespace Apex.Cli.Commands;

/// <summary>How a benchmark that needs scratch files reports: a temporary folder for its run, the Markdown to stdout and, with --out, appended to a file.</summary>
internal static class BenchReport
{
    public static async Task<int> RunAsync(string name, string? output, Func<string, Task<string>> run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var temp = Directory.CreateTempSubdirectory($"apex-bench-{name}-").FullName;
        try
        {
            var report = await run(temp);
            Console.Write(report);
            if (output is not null)
            {
                await File.AppendAllTextAsync(output, report, cancellationToken);
            }

            return ExitCodes.Ok;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }
}
