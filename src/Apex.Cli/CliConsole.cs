using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Apex.Cli;

/// <summary>Where the CLI talks to people: stderr, so that stdout carries only data.</summary>
internal static class CliConsole
{
    public static readonly IAnsiConsole Error = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
    });

    /// <summary>Progress bars only make sense for a person watching a terminal.</summary>
    public static bool IsInteractive => !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null or "" or "false";

    public static ILoggerFactory CreateLoggerFactory(bool verbose) =>
        LoggerFactory.Create(builder => builder
            .SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = false;
            }));

    /// <summary>Tables for stdout; wide when redirected, so that files and pipes get whole lines.</summary>
    public static IAnsiConsole CreateOutput()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = 160;
        }

        return console;
    }

    // Messages are plain lines (never wrapped), so that scripts can grep them.
    public static void Fail(string message) => Console.Error.WriteLine($"error: {message}");

    public static void Note(string message) => Console.Error.WriteLine(message);
}
