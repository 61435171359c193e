using Apex.Audio.Decoding;

namespace Apex.Embedding;

/// <summary>A file (or a part of it) to embed.</summary>
public sealed record EmbedRequest(string Path, AudioClip? Clip = null);

/// <summary>The outcome for one request: an embedding, or the reason it failed.</summary>
public sealed record EmbedResult(EmbedRequest Request, AudioEmbedding? Embedding, string? Error)
{
    public bool Succeeded => Embedding is not null;
}
