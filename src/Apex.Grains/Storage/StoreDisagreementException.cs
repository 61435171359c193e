namespace Apex.Grains.Storage;

/// <summary>The stores of a deployment do not agree; the host must not serve from them (exit 3).</summary>
public sealed class StoreDisagreementException(StoreReport report)
    : Exception("The stores do not agree: " + string.Join("; ", report.Findings.Select(f => $"{f.Store}: {f.Problem}")))
{
    public StoreReport Report { get; } = report;
}
