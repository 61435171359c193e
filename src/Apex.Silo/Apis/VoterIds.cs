using System.Security.Cryptography;
using System.Text;

namespace Apex.Silo.Apis;

/// <summary>
/// Voter ids as the daily cap counts them: Unicode NFKC (full-width, ligature and compatibility forms
/// folded), trimmed, case-folded, so that variants of one id share one cap; kept only as a salted
/// hash: enough to cap a voter, not to name one.
/// </summary>
public static class VoterIds
{
    public const int MaxLength = 256;

    /// <summary>The canonical form; empty when nothing but white space remains.</summary>
    public static string Normalize(string voter)
    {
        ArgumentNullException.ThrowIfNull(voter);
        // Upper then lower: a simple case fold that also maps forms like 'ſ' and 'K' (Kelvin) to one letter.
        var folded = voter.Normalize(NormalizationForm.FormKC).Trim().ToUpperInvariant().ToLowerInvariant();
        return folded.Normalize(NormalizationForm.FormKC);
    }

    public static string Hash(string voter) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("apex-arena-voter:" + Normalize(voter))));

    public static bool IsBlank(string voter) => Normalize(voter).Length == 0;
}
