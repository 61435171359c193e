using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Apex.Scoring;
using Apex.Silo.Hosting;
using Xunit.Abstractions;

namespace Apex.Silo.Tests;

/// <summary>
/// The Kubernetes overlays build with kubectl's kustomize, every object passes the Kubernetes API schema
/// (tools/k8s-validate), and the manifests agree with the Dockerfile and the host: image, ports, probes,
/// non-root, settings that exist. The image itself is built where Docker is available.
/// </summary>
public sealed partial class DeploymentTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ApexCluster.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("ApexCluster.sln not found above the test folder.");
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, string arguments, string? stdin = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? Root };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static async Task<List<JsonElement>> RenderAndValidateAsync(string kustomization)
    {
        var (buildExit, manifests, buildError) = await RunAsync("kubectl", $"kustomize {kustomization}");
        Assert.True(buildExit == 0, $"kubectl kustomize {kustomization}: {buildError}");
        var (validExit, report, validError) = await RunAsync("node", "tools/k8s-validate/validate.mjs --summary", manifests);
        Assert.True(validExit == 0, $"{kustomization}: {report}{validError}");
        var lines = report.Trim().Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith("INVALID", StringComparison.Ordinal) || l.StartsWith("UNCHECKED", StringComparison.Ordinal));
        return JsonDocument.Parse(lines[^1]).RootElement.EnumerateArray().ToList();
    }

    [GeneratedRegex(@"^EXPOSE\s+(.+)$", RegexOptions.Multiline)]
    private static partial Regex Expose();

    [Fact]
    public async Task Both_overlays_build_pass_the_api_schemas_and_agree_with_the_dockerfile_and_the_host()
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(Root, "Dockerfile"));
        var exposed = Expose().Match(dockerfile).Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToHashSet();
        Assert.Contains("USER $APP_UID", dockerfile, StringComparison.Ordinal);
        Assert.Contains("ENV ASPNETCORE_HTTP_PORTS=8080", dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"HEALTHCHECK .*http://127\.0\.0\.1:8080/health/live", dockerfile);
        var settings = typeof(ApexOptions).GetProperties().Select(p => p.Name).ToHashSet();
        var embedding = typeof(ScoringOptions).GetProperties().Select(p => p.Name).ToHashSet();
        var config = await File.ReadAllTextAsync(Path.Combine(Root, "k8s", "base", "config.yaml"));

        foreach (var overlay in new[] { "cpu-only", "gpu" })
        {
            var workloads = await RenderAndValidateAsync($"k8s/overlays/{overlay}");
            var silos = workloads.Where(w => w.GetProperty("object").GetString()!.StartsWith("Deployment/apex-silo", StringComparison.Ordinal)).ToList();
            Assert.Equal(overlay == "gpu" ? 2 : 1, silos.Count);
            foreach (var w in workloads)
            {
                Assert.StartsWith("apexcluster/apex:", w.GetProperty("image").GetString(), StringComparison.Ordinal);
                Assert.True(w.GetProperty("runAsNonRoot").GetBoolean(), w.GetProperty("object").GetString());
            }

            foreach (var silo in silos)
            {
                Assert.Equal(exposed, silo.GetProperty("ports").EnumerateArray().Select(p => p.GetInt32()).ToHashSet());
                Assert.Equal(["/health/ready:http", "/health/live:http"], silo.GetProperty("probes").EnumerateArray().Select(p => p.GetString()));
                // Every Apex__ setting the manifests set is one the host reads.
                var names = silo.GetProperty("env").EnumerateArray().Select(e => e.GetString()!)
                    .Concat(Regex.Matches(config, @"^\s+(Apex__\w+):", RegexOptions.Multiline).Select(m => m.Groups[1].Value));
                foreach (var name in names.Where(n => n.StartsWith("Apex__", StringComparison.Ordinal)))
                {
                    var parts = name.Split("__");
                    Assert.True(parts[1] == "Embedding" ? embedding.Contains(parts[2]) : settings.Contains(parts[1]), $"{name} is not a setting of the host");
                }

                var gpu = silo.GetProperty("object").GetString()!.EndsWith("-gpu", StringComparison.Ordinal);
                Assert.Equal(gpu ? "1" : null, silo.GetProperty("gpu").ValueKind == JsonValueKind.Null ? null : silo.GetProperty("gpu").ToString());
                Assert.Contains("ORLEANS__METADATA__gpu", silo.GetProperty("env").EnumerateArray().Select(e => e.GetString()));
            }
        }

        var monitoring = await RenderAndValidateAsync("k8s/monitoring");
        Assert.Empty(monitoring);
    }

    [Fact]
    public async Task The_image_builds_where_docker_is_available()
    {
        var (probe, _, _) = await RunAsync("sh", "-c \"command -v docker >/dev/null && docker info >/dev/null 2>&1\"");
        if (probe != 0)
        {
            // The issue allows this: no Docker engine on this machine, so the image build is not checked here.
            output.WriteLine("Skipped: no Docker engine reachable (docker info failed); the Dockerfile was checked against the manifests only.");
            return;
        }

        var (exit, stdout, stderr) = await RunAsync("docker", "build -t apexcluster/apex:test .");
        Assert.True(exit == 0, stdout + stderr);
    }
}
