namespace Apex.Embedding.Encoding;

/// <summary>A model that does not honour the encoder contract (input, output, metadata).</summary>
public sealed class EncoderContractException : Exception
{
    public EncoderContractException()
    {
    }

    public EncoderContractException(string message)
        : base(message)
    {
    }

    public EncoderContractException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
