using System.Threading.Channels;
using Apex.Grains.Events;

namespace Apex.Grains.Ingest;

/// <summary>
/// Group commit for an ingest log: batches that arrive while a commit runs wait, and the next commit
/// takes all of them in one transaction, so one durable write serves many requests. Each caller gets
/// its own batch's result, or the commit's exception.
/// </summary>
internal sealed class GroupCommitter : IAsyncDisposable
{
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<IReadOnlyList<EngagementEvent>>, Task<IngestResult[]>> _commit;
    private readonly Action<TimeSpan, int> _committed;
    private readonly Task _loop;

    /// <param name="commit">Commits a group of batches in one transaction; answers one result per batch.</param>
    /// <param name="committed">Told each successful commit's duration and batch count (metrics).</param>
    public GroupCommitter(Func<IReadOnlyList<IReadOnlyList<EngagementEvent>>, Task<IngestResult[]>> commit, Action<TimeSpan, int> committed)
    {
        _commit = commit;
        _committed = committed;
        _loop = Task.Run(LoopAsync);
    }

    public Task<IngestResult> SubmitAsync(IReadOnlyList<EngagementEvent> batch, object owner, CancellationToken cancellationToken)
    {
        var pending = new Pending(batch, new TaskCompletionSource<IngestResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), owner);
        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _loop;
    }

    private async Task LoopAsync()
    {
        var group = new List<Pending>();
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (_pending.Reader.TryRead(out var next))
            {
                group.Add(next);
            }

            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var results = await _commit(group.Select(p => p.Events).ToList());
                _committed(System.Diagnostics.Stopwatch.GetElapsedTime(started), group.Count);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                group.ForEach(p => p.Done.TrySetException(ex));
            }
            finally
            {
                group.Clear();
            }
        }
    }

    private sealed record Pending(IReadOnlyList<EngagementEvent> Events, TaskCompletionSource<IngestResult> Done);
}
