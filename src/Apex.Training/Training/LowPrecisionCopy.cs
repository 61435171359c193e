using Apex.Training.Model;
using Apex.Training.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Apex.Training.Training;

/// <summary>
/// Mixed precision by hand (TorchSharp has no autocast): a bfloat16 copy of the head runs each step's
/// forward and backward; the fp32 head keeps the master weights that the optimizer steps. Before a step
/// the copy takes the master weights and BatchNorm statistics; after it, the master parameters take the
/// copy's gradients (in fp32) and the master BatchNorm buffers its statistics. The loss (and its learnt
/// task weights) stays fp32: outputs are cast up before it.
/// </summary>
internal sealed class LowPrecisionCopy : IDisposable
{
    private readonly ApexHead _master;
    private readonly ApexHead _copy;
    private readonly IReadOnlyList<(Tensor Master, Tensor Copy)> _parameters;
    private readonly IReadOnlyList<(Tensor Master, Tensor Copy)> _buffers;

    public LowPrecisionCopy(ApexHead master, HeadArchitecture architecture, Device device)
    {
        _master = master;
        lock (Torch.TorchRandom.Gate)
        {
            _copy = new ApexHead(architecture);
        }

        _copy.to(device);
        _copy.to(ScalarType.BFloat16);
        _parameters = [.. master.parameters().Zip(_copy.parameters(), (m, c) => ((Tensor)m, (Tensor)c))];
        _buffers = [.. master.buffers().Zip(_copy.buffers(), (m, c) => (m, c))];
        Norms = _copy.modules().OfType<HeldScalarBatchNorm1d>().ToList();
    }

    /// <summary>The copy's BatchNorm layers: the ones a forward through the copy updates.</summary>
    public IReadOnlyList<HeldScalarBatchNorm1d> Norms { get; }

    /// <summary>Takes the master weights and statistics; clears the copy's gradients.</summary>
    public void Begin()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        _copy.train(_master.training);
        foreach (var (master, copy) in _parameters)
        {
            copy.copy_(master);
            copy.grad?.zero_();
        }

        foreach (var (master, copy) in _buffers)
        {
            copy.copy_(master);
        }
    }

    /// <summary>The copy's forward in bfloat16, answered in fp32 for the loss.</summary>
    public Tensor Forward(Tensor input) => _copy.call(input.to(ScalarType.BFloat16)).to(ScalarType.Float32);

    /// <summary>Hands the copy's gradients and BatchNorm statistics to the master head.</summary>
    public void End()
    {
        using var _ = no_grad();
        // The wrappers made here go with the scope; the master parameters keep their gradients.
        using var scope = NewDisposeScope();
        foreach (var (master, copy) in _parameters)
        {
            if (copy.grad is { } gradient)
            {
                master.grad = gradient.to(ScalarType.Float32);
            }
        }

        foreach (var (master, copy) in _buffers)
        {
            master.copy_(copy);
        }
    }

    public void Dispose() => _copy.Dispose();
}
