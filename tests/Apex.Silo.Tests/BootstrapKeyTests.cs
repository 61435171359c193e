using Apex.Silo.Auth;

namespace Apex.Silo.Tests;

public sealed class BootstrapKeyTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-bootstrap-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Theory]
    [InlineData("admin", false)]
    [InlineData("01234567890123456789012345678901234567", false)] // 38 digits: 126 bits
    [InlineData("0123456789012345678901234567890123456789", true)] // 40 digits: 133 bits
    [InlineData("test-admin-key-0123456789abcdef", true)]
    [InlineData("Zx9_Qm2vLr8kTe4p", false)]
    [InlineData("Zx9_Qm2vLr8kTe4pW7nB", true)]
    public void Keys_are_measured_by_length_and_alphabet(string key, bool strong) =>
        Assert.Equal(strong, KeyStrength.Bits(key) >= KeyStrength.MinimumBits);

    [Fact]
    public async Task A_weak_bootstrap_admin_key_stops_the_host_with_exit_code_2_and_no_stack_trace()
    {
        var (exit, error) = await SiloProcess.RunToExitAsync($"--Apex:DataDir={_data}", "--APEX_BOOTSTRAP_ADMIN_KEY=admin123");

        Assert.Equal(2, exit);
        Assert.Contains("128", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}
