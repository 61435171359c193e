using Apex.Grains.Webhooks;

namespace Apex.Cluster.Tests;

public sealed class FailingReceiversTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static DueDelivery Due(string subscription, int n) => new($"{subscription}-{n}", subscription, "https://hooks.example.com/", ["whsec_x"], "scored", "{}", 0);

    [Fact]
    public void A_failing_receiver_waits_out_its_backoff_then_gets_one_probe_and_after_a_success_its_whole_backlog()
    {
        var failing = new FailingReceivers();
        DueDelivery[] due = [Due("a", 1), Due("b", 1), Due("a", 2), Due("b", 2), Due("a", 3)];
        Assert.Equal(due, failing.Select(due));
        Assert.Empty(failing.Waiting(Now));

        failing.Record("a", delivered: false, Now.AddSeconds(10));
        failing.Record("b", delivered: true, Now);
        Assert.Equal(["a"], failing.Waiting(Now.AddSeconds(9)));
        Assert.Empty(failing.Waiting(Now.AddSeconds(10)));
        // Its backoff over, a failing receiver is probed by its oldest due delivery only; others go on whole.
        Assert.Equal(["a-1", "b-1", "b-2"], failing.Select(due).Select(d => d.Id));

        failing.Record("a", delivered: false, Now.AddSeconds(30));
        Assert.Equal(["a"], failing.Waiting(Now.AddSeconds(20)));
        failing.Record("a", delivered: true, Now.AddSeconds(31));
        Assert.Empty(failing.Waiting(Now.AddSeconds(20)));
        Assert.Equal(due, failing.Select(due));
    }
}
