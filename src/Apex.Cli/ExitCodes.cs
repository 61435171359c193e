namespace Apex.Cli;

internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command ran, but some inputs failed (each reported on stderr).</summary>
    public const int SomeFailed = 1;

    /// <summary>Nothing ran: the arguments, an input list or the model were unusable.</summary>
    public const int BadInput = 2;
}
