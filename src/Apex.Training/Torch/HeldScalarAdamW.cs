using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Apex.Training.Torch;

/// <summary>
/// TorchSharp's AdamW (decoupled weight decay, no AMSGrad) with only its step rewritten: the library's
/// step passes temporary scalars to native calls (see <see cref="HeldScalars"/>), and a training run
/// failed at random on it. The update is the library's, operation for operation, so the weights are
/// bit-identical; param groups, state, learning-rate schedulers and state saving stay the library's.
/// </summary>
public sealed class HeldScalarAdamW(IEnumerable<Parameter> parameters, double lr, double weightDecay)
    : AdamW(parameters, lr: lr, weight_decay: weightDecay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        if (options.amsgrad == true || options.maximize == true)
        {
            throw new NotSupportedException("AMSGrad and maximize are not supported.");
        }

        var lr = options.LearningRate!.Value;
        var beta1 = options.beta1!.Value;
        var beta2 = options.beta2!.Value;
        using var decay = (1 - (lr * options.weight_decay!.Value)).ToScalar();
        using var keep1 = beta1.ToScalar();
        using var take1 = (1 - beta1).ToScalar();
        using var keep2 = beta2.ToScalar();
        using var take2 = (1 - beta2).ToScalar();
        using var eps = options.eps!.Value.ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            // _step runs in a dispose scope: the gradient wrapper and the temporaries below are held by it.
            var grad = parameter.grad;
            if (grad is null)
            {
                continue;
            }

            state.step++;
            using var correction2 = Math.Sqrt(1 - Math.Pow(beta2, state.step)).ToScalar();
            using var stepSize = (-(lr / (1 - Math.Pow(beta1, state.step)))).ToScalar();
            parameter.mul_(decay);
            state.exp_avg.mul_(keep1).add_(grad, take1);
            state.exp_avg_sq.mul_(keep2).addcmul_(grad, grad, take2);
            var denominator = state.exp_avg_sq.sqrt().div_(correction2).add_(eps, HeldScalars.One);
            parameter.addcdiv_(state.exp_avg, denominator, stepSize);
        }
    }, closure);
}
