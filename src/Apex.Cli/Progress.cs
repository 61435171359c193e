using Spectre.Console;

namespace Apex.Cli;

/// <summary>Moves a progress bar; does nothing when no bar is shown.</summary>
internal sealed class ProgressTicker(ProgressTask? task)
{
    public void Advance(string? label = null)
    {
        if (task is null)
        {
            return;
        }

        task.Increment(1);
        if (label is not null)
        {
            task.Description = Markup.Escape(label);
        }
    }

    /// <summary>For work whose size is known only once it has started.</summary>
    public void SetTotal(int total)
    {
        if (task is not null)
        {
            task.MaxValue = Math.Max(1, total);
        }
    }
}

/// <summary>A Spectre.Console progress bar on stderr when a person is watching, nothing otherwise.</summary>
internal static class Progress
{
    public static async Task RunAsync(string title, int total, bool show, Func<ProgressTicker, Task> work)
    {
        if (!show || !CliConsole.IsInteractive)
        {
            await work(new ProgressTicker(null));
            return;
        }

        await CliConsole.Error.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context => await work(new ProgressTicker(context.AddTask(Markup.Escape(title), maxValue: Math.Max(1, total)))));
    }
}
