namespace Apex.Training.Data;

/// <summary>
/// What a dataset file declares about itself (Parquet key-value metadata): the embedding shape, a
/// description, and the identity of the encoder that made its embeddings (none for synthetic data).
/// </summary>
public sealed record DatasetInfo(int Layers, int Hidden, string Description, string? Encoder = null)
{
    public const string EncoderKey = "apex.encoder";

    public const string LayersKey = "apex.layers_count";
    public const string HiddenKey = "apex.hidden_size";
    public const string DescriptionKey = "apex.description";

    public int SegmentWidth => Layers * Hidden;
}
