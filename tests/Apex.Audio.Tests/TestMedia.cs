using System.Diagnostics;

namespace Apex.Audio.Tests;

/// <summary>Makes real media files with the ffmpeg binary, in a folder removed at dispose.</summary>
public sealed class TestMedia : IDisposable
{
    public TestMedia()
    {
        Folder = Directory.CreateTempSubdirectory("apex-audio-tests-").FullName;
    }

    public string Folder { get; }

    public static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    public string PathOf(string name) => Path.Combine(Folder, name);

    /// <summary>Runs ffmpeg with the given arguments (output file last) and returns the output path.</summary>
    public string Make(string name, string arguments)
    {
        var output = PathOf(name);
        Run("ffmpeg", $"-nostdin -v error -y {arguments} \"{output}\"");
        return output;
    }

    /// <summary>A sine tone of the given frequency, length and rate, stereo, in the container named by the extension.</summary>
    public string Sine(string name, double frequency, double seconds, int sampleRate = 44_100) =>
        Make(name, $"-f lavfi -i \"sine=frequency={frequency}:sample_rate={sampleRate}:duration={seconds}\" -ac 2");

    /// <summary>The first <paramref name="fraction"/> of a file, as a truncated download would leave it.</summary>
    public string Truncate(string source, string name, double fraction)
    {
        var bytes = File.ReadAllBytes(source);
        var output = PathOf(name);
        File.WriteAllBytes(output, bytes.AsSpan(0, (int)(bytes.Length * fraction)).ToArray());
        return output;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private static void Run(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {arguments} failed: {error}");
        }
    }
}
