namespace Apex.Cli.Tests;

public sealed class KeysCommandTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-keys-cli-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private static string IdOf(string key) => key.Trim().Split('_')[1];

    [Fact]
    public async Task Keys_are_listed_revoked_and_rotated_from_the_command_line()
    {
        var admin = await Apex.RunAsync("keys", "create", "--role", "admin", "--name", "ops", "--data-dir", _data);
        var reader = await Apex.RunAsync("keys", "create", "--role", "reader", "--name", "dash", "--data-dir", _data);
        Assert.True(admin.ExitCode == 0 && reader.ExitCode == 0, admin.Stderr + reader.Stderr);

        var rotated = await Apex.RunAsync("keys", "rotate", IdOf(reader.Stdout), "--grace-seconds", "60", "--data-dir", _data);
        var revoked = await Apex.RunAsync("keys", "revoke", IdOf(rotated.Stdout), "--data-dir", _data);
        var lastAdmin = await Apex.RunAsync("keys", "revoke", IdOf(admin.Stdout), "--data-dir", _data);
        var unknown = await Apex.RunAsync("keys", "revoke", "nosuchid", "--data-dir", _data);
        var past = await Apex.RunAsync("keys", "create", "--role", "reader", "--expires-at", "2020-01-01T00:00:00Z", "--data-dir", _data);
        var list = await Apex.RunAsync("keys", "list", "--data-dir", _data);

        Assert.True(rotated.ExitCode == 0, rotated.Stderr);
        Assert.StartsWith("apex_", rotated.Stdout.Trim(), StringComparison.Ordinal);
        Assert.Contains($"replaces {IdOf(reader.Stdout)}", rotated.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, revoked.ExitCode);
        Assert.Equal(1, lastAdmin.ExitCode);
        Assert.Contains("last active admin key", lastAdmin.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal(2, past.ExitCode);
        var rows = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split('\t')).ToDictionary(c => c[0]);
        Assert.Equal(3, rows.Count);
        Assert.Equal("active", rows[IdOf(admin.Stdout)][6]);
        Assert.Equal("active", rows[IdOf(reader.Stdout)][6]); // within its grace time
        Assert.NotEqual("-", rows[IdOf(reader.Stdout)][4]);
        Assert.Equal("revoked", rows[IdOf(rotated.Stdout)][6]);
        Assert.DoesNotContain(reader.Stdout.Trim(), list.Stdout, StringComparison.Ordinal);
    }
}
