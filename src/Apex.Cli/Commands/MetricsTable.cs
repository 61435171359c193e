using Apex.Training.Training;
using Spectre.Console;

namespace Apex.Cli.Commands;

internal static class MetricsTable
{
    public static Table Of(string title, IEnumerable<TaskMetrics> metrics)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(title)) }.AddColumns("task", "n", "MSE", "MAE", "Pearson", "Spearman");
        foreach (var m in metrics)
        {
            table.AddRow(m.Task, m.Report.Count.ToString(), m.Report.Mse.ToString("0.000"), m.Report.Mae.ToString("0.000"), m.Report.Pearson.ToString("0.000"), m.Report.Spearman.ToString("0.000"));
        }

        return table;
    }
}
