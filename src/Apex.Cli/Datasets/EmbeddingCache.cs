using System.Runtime.InteropServices;

namespace Apex.Cli.Datasets;

/// <summary>
/// Embeddings already computed for a dataset build, one small file per track (segment count, then
/// floats), written atomically; a rerun skips the tracks found here.
/// </summary>
internal sealed class EmbeddingCache(string folder)
{
    public string Folder { get; } = Directory.CreateDirectory(folder).FullName;

    private string PathOf(string trackId) => Path.Combine(Folder, Uri.EscapeDataString(trackId) + ".f32");

    public bool Contains(string trackId) => File.Exists(PathOf(trackId));

    public void Put(string trackId, int segments, float[] values)
    {
        var path = PathOf(trackId);
        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        {
            stream.Write(BitConverter.GetBytes(segments));
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        }

        File.Move(temp, path, overwrite: true);
    }

    public (int Segments, float[] Values) Get(string trackId)
    {
        var bytes = File.ReadAllBytes(PathOf(trackId));
        return (BitConverter.ToInt32(bytes, 0), MemoryMarshal.Cast<byte, float>(bytes.AsSpan(sizeof(int))).ToArray());
    }
}
