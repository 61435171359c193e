namespace Apex.Arena.Tests;

public sealed class PairSamplerTests
{
    private static ArenaTrack T(string id, string system, string? prompt) => new(id, system, prompt, null);

    [Fact]
    public void Pairs_share_a_prompt_when_tracks_do_and_never_pit_a_system_against_itself()
    {
        // Prompt p1 is shared by two systems; p2 by one system only (no valid pair there).
        ArenaTrack[] tracks = [T("a1", "sa", "p1"), T("b1", "sb", "p1"), T("a2", "sa", "p2"), T("a3", "sa", "p2"), T("c1", "sc", null)];
        var random = new Random(3);
        for (var i = 0; i < 200; i++)
        {
            var pair = PairSampler.Next(tracks, new Dictionary<string, SystemStanding>(), random)!;
            Assert.Equal("p1", pair.Prompt);
            Assert.Equal(["a1", "b1"], new[] { pair.A.TrackId, pair.B.TrackId }.Order());
        }
    }

    [Fact]
    public void Without_a_shared_prompt_any_two_systems_meet_and_both_sides_are_shown_first()
    {
        ArenaTrack[] tracks = [T("a1", "sa", "x"), T("b1", "sb", "y"), T("c1", "sc", null)];
        var random = new Random(5);
        var pairs = Enumerable.Range(0, 600).Select(_ => PairSampler.Next(tracks, new Dictionary<string, SystemStanding>(), random)!).ToList();

        Assert.All(pairs, p => Assert.NotEqual(p.A.System, p.B.System));
        Assert.All(pairs, p => Assert.Null(p.Prompt));
        Assert.Equal(3, pairs.Select(p => string.Join('-', new[] { p.A.System, p.B.System }.Order())).Distinct().Count());
        Assert.InRange(pairs.Count(p => p.A.System == "sa"), 120, 280); // sa is in two of three pairs, on side A half the time
    }

    [Fact]
    public void Systems_the_board_knows_least_about_are_drawn_more_often()
    {
        ArenaTrack[] tracks = [T("a1", "settled", null), T("b1", "settled-too", null), T("c1", "new", null)];
        var standings = new Dictionary<string, SystemStanding>
        {
            ["settled"] = new(5_000, 20),
            ["settled-too"] = new(5_000, 20),
        };
        var random = new Random(11);
        var pairs = Enumerable.Range(0, 1_000).Select(_ => PairSampler.Next(tracks, standings, random)!).ToList();

        var withNew = pairs.Count(p => p.A.System == "new" || p.B.System == "new");
        Assert.True(withNew > 900, $"the new system was in {withNew} of 1000 pairs");
        Assert.True(PairSampler.Weight(null) > PairSampler.Weight(new SystemStanding(10, 100)));
        Assert.True(PairSampler.Weight(new SystemStanding(10, 300)) > PairSampler.Weight(new SystemStanding(10, 50)));
    }

    [Fact]
    public void One_system_alone_gives_no_pair()
    {
        Assert.Null(PairSampler.Next([T("a1", "sa", "p"), T("a2", "sa", "p")], new Dictionary<string, SystemStanding>(), new Random(1)));
        Assert.Null(PairSampler.Next([], new Dictionary<string, SystemStanding>(), new Random(1)));
    }
}
