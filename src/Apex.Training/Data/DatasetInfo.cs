namespace Apex.Training.Data;

/// <summary>What a dataset file declares about itself (Parquet key-value metadata).</summary>
public sealed record DatasetInfo(int Layers, int Hidden, string Description)
{
    public const string LayersKey = "apex.layers_count";
    public const string HiddenKey = "apex.hidden_size";
    public const string DescriptionKey = "apex.description";

    public int SegmentWidth => Layers * Hidden;
}
