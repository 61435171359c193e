using System.Globalization;
using Apex.Web.Components.Charts;
using Bunit;

namespace Apex.Web.Tests;

/// <summary>The console's server-rendered charts, rendered alone (bUnit): what they draw for given data.</summary>
public sealed class ChartTests : IDisposable
{
    private readonly BunitContext _context = new();

    public void Dispose() => _context.Dispose();

    private static double Attr(AngleSharp.Dom.IElement element, string name) => double.Parse(element.GetAttribute(name)!, CultureInfo.InvariantCulture);

    [Fact]
    public void The_scatter_draws_every_point_inside_the_plot_the_identity_line_and_one_marker_per_decile()
    {
        var chart = _context.Render<ScatterChart>(p => p
            .Add(c => c.Id, "s")
            .Add(c => c.Title, "streams: predicted vs actual")
            .Add(c => c.Summary, "3 tracks")
            .Add(c => c.Points, [(10.0, 20.0), (-5.0, 130.0), (100.0, 0.0)])
            .Add(c => c.Deciles, [(10.0, 15.0), (90.0, 80.0)]));

        var plot = chart.Find("rect");
        var (left, top, size) = (Attr(plot, "x"), Attr(plot, "y"), Attr(plot, "width"));
        var points = chart.FindAll("circle");
        Assert.Equal(3, points.Count);
        Assert.All(points, c => Assert.InRange(Attr(c, "cx"), left, left + size));
        Assert.All(points, c => Assert.InRange(Attr(c, "cy"), top, top + size));
        // Out-of-range values sit on the plot's edge: -5 → the left edge, 130 → the top.
        Assert.Equal((left, top), (Attr(points[1], "cx"), Attr(points[1], "cy")));
        // Higher actual is drawn higher (smaller y).
        Assert.True(Attr(points[0], "cy") < Attr(points[2], "cy"));

        var identity = chart.FindAll("line").Single(l => l.GetAttribute("stroke-dasharray") is not null);
        Assert.Equal((left, top + size, left + size, top), (Attr(identity, "x1"), Attr(identity, "y1"), Attr(identity, "x2"), Attr(identity, "y2")));
        Assert.Equal(2, chart.FindAll("rect[fill='#b35c00']").Count);
        Assert.Equal("streams: predicted vs actual", chart.Find("title").TextContent);
        Assert.Equal("s-title s-desc", chart.Find("svg").GetAttribute("aria-labelledby"));
    }

    [Fact]
    public void The_interval_chart_draws_each_systems_interval_around_its_rating_in_order_with_provisional_ones_marked()
    {
        var chart = _context.Render<IntervalChart>(p => p
            .Add(c => c.Id, "i")
            .Add(c => c.Title, "ratings")
            .Add(c => c.Rows, [("a", 1100.0, 1050.0, 1160.0, false), ("b", 980.0, 900.0, 1010.0, true)]));

        var bars = chart.FindAll("line[stroke-width='6']");
        var dots = chart.FindAll("circle");
        Assert.Equal(["a", "b"], chart.FindAll("g > text[text-anchor='end']").Select(t => t.TextContent));
        for (var i = 0; i < 2; i++)
        {
            Assert.InRange(Attr(dots[i], "cx"), Attr(bars[i], "x1"), Attr(bars[i], "x2"));
        }

        Assert.True(Attr(bars[0], "x1") > Attr(bars[1], "x1"));
        Assert.Equal(["#1f4fa8", "#b35c00"], bars.Select(b => b.GetAttribute("stroke")));
    }

    [Fact]
    public void The_timeline_marks_each_segments_score_on_its_tasks_range_even_for_a_one_segment_song()
    {
        var chart = _context.Render<SegmentTimeline>(p => p
            .Add(c => c.Id, "t")
            .Add(c => c.Title, "per segment")
            .Add(c => c.Series, [("streams", (IReadOnlyList<double>)[100.0], 0.0, 100.0), ("coherence", (IReadOnlyList<double>)[1.0], 1.0, 5.0)]));

        var marks = chart.FindAll("circle");
        var plot = chart.Find("rect");
        Assert.Equal(2, marks.Count);
        Assert.Equal(Attr(plot, "y"), Attr(marks[0], "cy")); // 100 of 0..100: the top
        Assert.Equal(Attr(plot, "y") + Attr(plot, "height"), Attr(marks[1], "cy")); // 1 of 1..5: the bottom
        Assert.Equal(["streams", "coherence"], chart.FindAll("g > text[fill]").Select(t => t.TextContent));
    }
}
