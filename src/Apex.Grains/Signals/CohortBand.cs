namespace Apex.Grains.Signals;

/// <summary>
/// Tracks of one platform are compared with those of about the same age: bands that double in width,
/// under 1 day, 1 to 3 days, 3 to 7, 7 to 15, 15 to 31 days and so on.
/// </summary>
public static class CohortBand
{
    public static int Of(TimeSpan age) => age <= TimeSpan.Zero ? 0 : (int)Math.Floor(Math.Log2(age.TotalDays + 1));

    /// <summary>A band as people read it, e.g. "1-3d".</summary>
    public static string Name(int band) => band == 0 ? "0-1d" : $"{(1 << band) - 1}-{(1 << (band + 1)) - 1}d";
}
