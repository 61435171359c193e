using Apex.Training.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Apex.Training.Model;

/// <summary>
/// The APEX multi-task head: a learned Conv1d(layers → 1, kernel 1) mixes the layer vectors into one,
/// a shared trunk of Linear → BatchNorm → GELU → Dropout blocks, and one branch per task
/// (Linear → BatchNorm → GELU → Dropout → Linear) squashed to the task's range by a sigmoid.
/// Input [batch, layers, hidden]; output [batch, tasks].
/// </summary>
public sealed class ApexHead : Module<Tensor, Tensor>
{
    private readonly Conv1d _mix;
    private readonly Sequential _trunk;
    private readonly ModuleList<Sequential> _branches;
    private readonly float[] _low;
    private readonly float[] _span;

    public ApexHead(HeadArchitecture architecture)
        : base(nameof(ApexHead))
    {
        Architecture = architecture.Validate();
        _mix = Conv1d(architecture.Layers, 1, kernel_size: 1);
        var blocks = new List<(string, Module<Tensor, Tensor>)>();
        var width = architecture.Hidden;
        for (var i = 0; i < architecture.Trunk.Count; i++)
        {
            var next = architecture.Trunk[i];
            blocks.Add(($"linear{i}", Linear(width, next)));
            blocks.Add(($"norm{i}", new HeldScalarBatchNorm1d(next)));
            blocks.Add(($"gelu{i}", GELU()));
            blocks.Add(($"dropout{i}", Dropout(architecture.TrunkDropout)));
            width = next;
        }

        _trunk = Sequential(blocks);
        _branches = new ModuleList<Sequential>(architecture.Tasks.Select(_ => Sequential(
            ("linear", Linear(width, architecture.BranchWidth)),
            ("norm", new HeldScalarBatchNorm1d(architecture.BranchWidth)),
            ("gelu", GELU()),
            ("dropout", Dropout(architecture.BranchDropout)),
            ("out", Linear(architecture.BranchWidth, 1)))).ToArray());
        _low = architecture.Tasks.Select(t => (float)t.Low).ToArray();
        _span = architecture.Tasks.Select(t => (float)t.Span).ToArray();
        RegisterComponents();
    }

    public HeadArchitecture Architecture { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // The kernel-1 convolution computed as what it is, a weighted sum of the layers: the same parameters,
        // without libtorch's convolution path (which probes NNPACK and prints a warning on CPUs without it).
        // Each output element is the same weighted sum over the layers whatever the batch size, so the
        // live (batched) and offline scores agree.
        var mixed = input.mul(_mix.weight!.view(1, -1, 1)).sum(1).add(_mix.bias!, HeldScalars.One);
        var shared = _trunk.call(mixed);
        var raw = cat(_branches.Select(b => b.call(shared)).ToArray(), dim: 1);
        var low = OwnedTensors.Of(_low, input.device);
        var span = OwnedTensors.Of(_span, input.device);
        return low.add(span * raw.sigmoid(), HeldScalars.One).MoveToOuterDisposeScope();
    }
}
