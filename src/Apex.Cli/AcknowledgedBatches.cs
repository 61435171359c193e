namespace Apex.Cli;

/// <summary>The acknowledged batches, by their index in the (deterministic) plan, appended as they come.</summary>
internal sealed class AcknowledgedBatches : IDisposable
{
    private readonly HashSet<int> _done;
    private readonly StreamWriter? _writer;

    private AcknowledgedBatches(HashSet<int> done, StreamWriter? writer)
    {
        _done = done;
        _writer = writer;
    }

    public static AcknowledgedBatches Open(string? path, bool resume)
    {
        if (path is null)
        {
            return new AcknowledgedBatches([], null);
        }

        var done = resume && File.Exists(path)
            ? File.ReadLines(path).Select(l => int.TryParse(l, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1).Where(n => n >= 0).ToHashSet()
            : [];
        var writer = new StreamWriter(path, append: resume) { AutoFlush = true };
        return new AcknowledgedBatches(done, writer);
    }

    public bool Done(int step) => _done.Contains(step);

    public void Acknowledged(int step)
    {
        if (_writer is null)
        {
            return;
        }

        lock (_writer)
        {
            _writer.WriteLine(step.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public void Dispose() => _writer?.Dispose();
}
