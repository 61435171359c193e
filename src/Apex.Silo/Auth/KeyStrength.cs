namespace Apex.Silo.Auth;

/// <summary>
/// How many bits a chosen secret carries at most: its length times log2 of the alphabet its character
/// classes span (lower case, upper case, digits, other ASCII, anything else). An upper bound, not an
/// entropy measurement: it refuses short or narrow keys, it cannot see a guessable phrase.
/// </summary>
public static class KeyStrength
{
    public const int MinimumBits = 128;

    public static double Bits(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var alphabet = (key.Any(char.IsAsciiLetterLower) ? 26 : 0)
            + (key.Any(char.IsAsciiLetterUpper) ? 26 : 0)
            + (key.Any(char.IsAsciiDigit) ? 10 : 0)
            + (key.Any(c => char.IsAscii(c) && !char.IsAsciiLetterOrDigit(c)) ? 33 : 0)
            + (key.Any(c => !char.IsAscii(c)) ? 100 : 0);
        return alphabet == 0 ? 0 : key.Length * Math.Log2(alphabet);
    }
}
