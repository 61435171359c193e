using Spectre.Console;

namespace Apex.Cli;

/// <summary>A Spectre.Console progress bar on stderr when a person is watching, nothing otherwise.</summary>
internal static class Progress
{
    public static async Task RunAsync(string title, int total, bool show, Func<Action<string?>, Task> work)
    {
        if (!show || !CliConsole.IsInteractive)
        {
            await work(_ => { });
            return;
        }

        await CliConsole.Error.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: total);
                await work(label =>
                {
                    task.Increment(1);
                    if (label is not null)
                    {
                        task.Description = Markup.Escape(label);
                    }
                });
            });
    }
}
