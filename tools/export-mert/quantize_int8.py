#!/usr/bin/python3
"""Dynamic INT8 quantization of exported encoders, and a PyTorch emulation of it.

quantize_model() rewrites an FP32 encoder graph with standard ONNX integer ops:
every MatMul/Gemm with a constant weight and every 1-D Conv with a constant
weight gets a DynamicQuantizeLinear on its input (uint8, per tensor), an int8
symmetric per-output-channel weight and a float rescale after the integer op.
Group-1 unpadded convs run as im2col (Slice/Concat) + MatMulInteger, other
convs as ConvInteger; grouped and shallow convs stay float by default (see the
switches below). Activation x activation MatMuls (attention) stay float.

emulate() returns a copy of the PyTorch module whose matching Linear/Conv1d
layers compute what that integer graph computes, so the export can measure
INT8 accuracy without ONNX Runtime. run_graph() is a small numpy evaluator
for the ops these encoders use; the self-test runs the integer graph with it.

    /usr/bin/python3 tools/export-mert/quantize_int8.py selftest
"""
import collections
import copy
import dataclasses
import hashlib
import io
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

WEIGHT_QMAX = 127  # symmetric: -128 is never used, so the scale maps max|w| to 127
# ONNX Runtime's CPU ConvInteger took only uint8 weights until late 2025
# (onnxruntime PR 26585), and takes only a scalar weight zero point in every
# version. So conv weights are stored as uint8 = int8 + 128 with
# zero point 128: the same integers after the offset, loadable by any ORT.
# False stores int8 with zero point 0 (may run faster on VNNI, newer ORT only).
CONV_WEIGHTS_U8 = True
CONV_WEIGHT_OFFSET = 128 if CONV_WEIGHTS_U8 else 0
# ORT's CPU ConvInteger is slow (no u8 x s8 GEMM), so a Conv with group 1, no
# padding and dilation 1 becomes Slice/Concat (im2col on the uint8 input) +
# MatMulInteger, which runs on the fast u8 x s8 GEMM. Same integers as ConvInteger.
# False keeps ConvInteger for every conv (for comparison).
CONV_AS_MATMUL = True
# Grouped convs (the positional conv) can only use ConvInteger; it is slower in ORT
# than the float Conv, so they stay float.
QUANTIZE_GROUPED_CONV = False
# A conv whose GEMM depth C * k is below this stays float (the first conv, C=1, k=10):
# the float conv costs next to nothing and writes its output in place, where the
# integer one would need a transpose of its large output.
MIN_CONV_DEPTH = 64
_CONV_INTEGER = QUANTIZE_GROUPED_CONV or not CONV_AS_MATMUL
SCHEME = ("dynamic u8 activations (per tensor), s8 symmetric per-channel weights"
          + (" (ConvInteger weights stored u8 with zero point 128)"
             if CONV_WEIGHTS_U8 and _CONV_INTEGER else "")
          + "; MatMul+Gemm+Conv"
          + ("; group-1 unpadded convs as im2col + MatMulInteger" if CONV_AS_MATMUL else "")
          + ("" if QUANTIZE_GROUPED_CONV else "; grouped convs float")
          + (f"; convs with C*k < {MIN_CONV_DEPTH} float" if MIN_CONV_DEPTH else ""))
MIN_OPSET = 11  # DynamicQuantizeLinear


# ---------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------

def weight_key(w):
    """Identifies a float32 weight by shape and bytes (torch layout [out, in, ...])."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    digest = hashlib.sha256(repr(w.shape).encode())
    digest.update(w.tobytes())
    return digest.hexdigest()


def quantize_weight(w):
    """Symmetric int8 per output channel (axis 0): returns (q int8, scale float32 [out])."""
    w = np.asarray(w, dtype=np.float32)
    maxabs = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scale = (maxabs / np.float32(WEIGHT_QMAX)).astype(np.float32)
    scale[scale == 0] = 1  # an all-zero channel quantizes to 0 under any scale
    shape = (-1,) + (1,) * (w.ndim - 1)
    q = np.clip(np.rint(w / scale.reshape(shape)), -WEIGHT_QMAX, WEIGHT_QMAX)
    return q.astype(np.int8), scale


@dataclasses.dataclass
class QuantizedWeight:
    """One quantized node: q/scale in torch layout, *_name the graph's initializers."""
    node: str         # name of the replaced node
    op: str           # MatMul, Gemm or Conv
    initializer: str  # FP32 weight it replaced
    layout: str       # stored as: "MatMul" [in, out] s8, "Conv" ConvInteger [out, in, k],
                      # "ConvAsMatMul" [k * in, out] s8 with row j * in + c = W[:, c, j]
    q_name: str       # integer weight initializer in the INT8 graph
    scale_name: str   # float scale initializer in the INT8 graph
    zp_name: str      # scalar weight zero point initializer
    q: np.ndarray     # int8, torch layout [out, in, *kernel]
    scale: np.ndarray  # float32 [out]
    key: str          # weight_key of the FP32 weight in torch layout


# ---------------------------------------------------------------------------
# Graph transform
# ---------------------------------------------------------------------------

class _Names:
    """Hands out names unused anywhere in the graph."""

    def __init__(self, graph):
        self.used = set()
        for node in graph.node:
            self.used.update(node.input)
            self.used.update(node.output)
            self.used.add(node.name)
        for seq in (graph.initializer, graph.input, graph.output, graph.value_info):
            self.used.update(v.name for v in seq)

    def __call__(self, base):
        name, i = base, 1
        while name in self.used:
            name, i = f"{base}_{i}", i + 1
        self.used.add(name)
        return name


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _used_names(graph, into):
    for node in graph.node:
        into.update(node.input)
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                _used_names(sub, into)
    into.update(o.name for o in graph.output)
    return into


_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Erf", "Tanh", "Relu", "Sigmoid", "Gelu", "Identity"}


class _Rewriter:
    def __init__(self, graph):
        self.inits = {t.name: t for t in graph.initializer}
        self.names = _Names(graph)
        self.new_inits = []
        self.records = []
        self.replaced = set()
        self.done = {}  # (initializer, layout) -> record, so a shared weight is stored once
        self.consts = {}  # int64 values -> initializer, for Slice/Transpose arguments
        self.transposed_back = set()  # [N, C, T] tensors that an im2col conv transposed back
        self.scalars = {t.name for t in graph.initializer if np.prod(t.dims) <= 1}

    def add_init(self, base, array):
        name = self.names(base)
        self.new_inits.append(numpy_helper.from_array(array, name))
        return name

    def int64s(self, values):
        values = tuple(int(v) for v in values)
        if values not in self.consts:
            self.consts[values] = self.add_init("int64_const", np.array(values, np.int64))
        return self.consts[values]

    def const(self, name):
        t = self.inits.get(name)
        return None if t is None else numpy_helper.to_array(t)

    def weight(self, node, layout, init_name, torch_layout):
        cached = self.done.get((init_name, layout))
        if cached is None:
            q, scale = quantize_weight(torch_layout)
            if layout == "Conv":
                dtype = np.uint8 if CONV_WEIGHTS_U8 else np.int8
                stored = (q.astype(np.int16) + CONV_WEIGHT_OFFSET).astype(dtype)
                zp = np.array(CONV_WEIGHT_OFFSET, dtype=dtype)
                scale_stored = scale.reshape((1, -1) + (1,) * (q.ndim - 2))
            elif layout == "ConvAsMatMul":
                stored, zp, scale_stored = conv_weight_as_matmul(q), np.array(0, np.int8), scale
            else:  # MatMul B is [K, N] = torch weight transposed
                stored, zp, scale_stored = np.ascontiguousarray(q.T), np.array(0, np.int8), scale
            cached = QuantizedWeight(
                node=node.name, op=layout, initializer=init_name, layout=layout,
                q_name=self.add_init(f"{init_name}_quantized", stored),
                scale_name=self.add_init(f"{init_name}_scale", scale_stored),
                zp_name=self.add_init(f"{init_name}_zero_point", zp),
                q=q, scale=scale, key=weight_key(torch_layout))
            self.done[(init_name, layout)] = cached
        self.replaced.add(init_name)
        record = dataclasses.replace(cached, node=node.name, op=node.op_type)
        self.records.append(record)
        return cached

    def integer_chain(self, node, x, integer_op, w, attrs, bias, im2col=None):
        """DynamicQuantizeLinear -> integer op -> Cast -> Mul(x_scale * w_scale) [-> Add bias].

        im2col(base, x_q, transpose) -> (nodes, A, out_perm): builds the integer op's
        input from x_q (transposing it first if asked) and the result is transposed by
        out_perm."""
        base = node.name or node.output[0]
        n = self.names
        x_q, x_scale, x_zp = n(f"{base}_x_q"), n(f"{base}_x_scale"), n(f"{base}_x_zero_point")
        acc, acc_f, scale = n(f"{base}_int32"), n(f"{base}_int32_float"), n(f"{base}_scale")
        out = node.output[0]
        nodes = []
        # Input from an im2col conv through elementwise ops: transpose the float input,
        # which ORT's transpose optimizer cancels against that conv's output transpose.
        # Otherwise transpose the uint8 tensor, a quarter of the bytes.
        transpose_float = im2col and x in self.transposed_back
        if transpose_float:
            xt = n(f"{base}_x_transposed")
            nodes.append(helper.make_node("Transpose", [x], [xt], name=n(f"{base}_transpose_in"),
                                          perm=[0, 2, 1]))
            x = xt
        nodes += [helper.make_node("DynamicQuantizeLinear", [x], [x_q, x_scale, x_zp],
                                  name=n(f"{base}_quant"))]
        a, out_perm = x_q, None
        if im2col:
            pre, a, out_perm = im2col(base, x_q, not transpose_float)
            nodes += pre
        y = n(f"{base}_scaled") if bias or out_perm else out
        nodes += [
            helper.make_node(integer_op, [a, w.q_name, x_zp, w.zp_name], [acc],
                             name=n(f"{base}_{integer_op}"), **attrs),
            helper.make_node("Cast", [acc], [acc_f], name=n(f"{base}_cast"),
                             to=TensorProto.FLOAT),
            # Mul(a_scale, b_scale) then Mul(cast, product): the shape ORT fuses into
            # MatMulIntegerToFloat / DynamicQuantizeMatMul.
            helper.make_node("Mul", [x_scale, w.scale_name], [scale], name=n(f"{base}_scales_mul")),
            helper.make_node("Mul", [acc_f, scale], [y], name=n(f"{base}_rescale")),
        ]
        if bias:
            biased = n(f"{base}_biased") if out_perm else out
            nodes.append(helper.make_node("Add", [y, bias], [biased], name=n(f"{base}_bias_add")))
            y = biased
        if out_perm:
            nodes.append(helper.make_node("Transpose", [y], [out], name=n(f"{base}_transpose_out"),
                                          perm=out_perm))
        return nodes

    def conv_im2col(self, kernel, stride):
        """x_q [N, C, T] (or [N, T, C] when not `transpose`) -> [N, L, k*C] with
        column j*C + c = x_q[:, c, l*stride + j].

        Slice j runs from j to T - (k-1-j) (a negative end, so no Shape ops) with step
        stride, which gives L = (T - k) // stride + 1 frames, as the conv does."""
        def build(base, x_q, transpose):
            n = self.names
            if not transpose:
                xt, nodes = x_q, []
            else:
                xt = n(f"{base}_x_q_transposed")
                nodes = [helper.make_node("Transpose", [x_q], [xt], name=n(f"{base}_transpose_in"),
                                          perm=[0, 2, 1])]
            if kernel == 1 and stride == 1:
                return nodes, xt, [0, 2, 1]
            cols = []
            for j in range(kernel):
                end = j - (kernel - 1) if j < kernel - 1 else np.iinfo(np.int64).max
                col = n(f"{base}_x_q_tap{j}")
                nodes.append(helper.make_node(
                    "Slice", [xt, self.int64s([j]), self.int64s([end]), self.int64s([1]),
                              self.int64s([stride])], [col], name=n(f"{base}_slice{j}")))
                cols.append(col)
            if len(cols) == 1:
                return nodes, cols[0], [0, 2, 1]
            a = n(f"{base}_x_q_im2col")
            nodes.append(helper.make_node("Concat", cols, [a], name=n(f"{base}_im2col"), axis=2))
            return nodes, a, [0, 2, 1]
        return build

    def track_layout(self, node):
        """Follows transposed-back conv outputs through elementwise ops (GELU's
        Div/Erf/Add/Mul) with scalar constants, which ORT moves transposes across."""
        if node.op_type == "Constant":
            self.scalars.update(node.output)
        elif (node.op_type in _ELEMENTWISE and any(i in self.transposed_back for i in node.input)
              and all(i in self.transposed_back or i in self.scalars for i in node.input)):
            self.transposed_back.update(node.output)

    def matmul(self, node):
        x, b = node.input
        weight = self.const(b)
        if weight is None:
            return None, "activation x activation"
        if weight.ndim != 2 or weight.dtype != np.float32:
            return None, "weight not rank-2 float32"
        w = self.weight(node, "MatMul", b, weight.T)
        return self.integer_chain(node, x, "MatMulInteger", w, {}, None), None

    def gemm(self, node):
        attrs = _attrs(node)
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
            return None, "Gemm with transA/alpha/beta"
        weight = self.const(node.input[1])
        if weight is None or weight.dtype != np.float32:
            return None, "activation x activation"
        torch_layout = weight if attrs.get("transB", 0) else weight.T
        w = self.weight(node, "MatMul", node.input[1], torch_layout)
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        return self.integer_chain(node, node.input[0], "MatMulInteger", w, {}, bias), None

    def conv(self, node):
        weight = self.const(node.input[1])
        if weight is None or weight.dtype != np.float32:
            return None, "non-constant weight"
        if weight.ndim != 3:
            return None, "not a 1-D conv"
        attrs = _attrs(node)
        if attrs.get("group", 1) != 1 and not QUANTIZE_GROUPED_CONV:
            return None, "grouped conv"
        if weight.shape[1] * weight.shape[2] < MIN_CONV_DEPTH:
            return None, f"C * k < {MIN_CONV_DEPTH}"
        as_matmul = (CONV_AS_MATMUL and attrs.get("group", 1) == 1
                     and not any(attrs.get("pads", [0, 0]))
                     and all(d == 1 for d in attrs.get("dilations", [1]))
                     and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"))
        bias = None
        if len(node.input) > 2 and node.input[2]:
            b = self.const(node.input[2])
            if b is None:
                return None, "non-constant bias"
            bias = self.add_init(f"{node.input[2]}_reshaped", b if as_matmul else b.reshape(1, -1, 1))
            self.replaced.add(node.input[2])
        if as_matmul:
            w = self.weight(node, "ConvAsMatMul", node.input[1], weight)
            im2col = self.conv_im2col(weight.shape[2], attrs.get("strides", [1])[0])
            self.transposed_back.add(node.output[0])
            return self.integer_chain(node, node.input[0], "MatMulInteger", w, {}, bias, im2col), None
        w = self.weight(node, "Conv", node.input[1], weight)
        return self.integer_chain(node, node.input[0], "ConvInteger", w, attrs, bias), None


def quantize_model(model):
    """Rewrites `model` (in place) to INT8; returns (model, records, summary lines)."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} < {MIN_OPSET}: DynamicQuantizeLinear unavailable")
    graph = model.graph
    rw = _Rewriter(graph)
    handlers = {"MatMul": rw.matmul, "Gemm": rw.gemm, "Conv": rw.conv}
    nodes, quantized, skipped = [], collections.Counter(), collections.Counter()
    for node in graph.node:
        handler = handlers.get(node.op_type)
        new, why = handler(node) if handler else (None, None)
        rw.track_layout(node)
        if new is None:
            nodes.append(node)
            if why:
                skipped[f"{node.op_type} ({why})"] += 1
        else:
            nodes.extend(new)  # in place of the old node: topological order holds
            quantized[node.op_type] += 1
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(rw.new_inits)
    used = _used_names(graph, set())
    dead = {name for name in rw.replaced if name not in used}
    keep = [t for t in graph.initializer if t.name not in dead]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    keep_inputs = [i for i in graph.input if i.name not in dead]
    del graph.input[:]
    graph.input.extend(keep_inputs)
    summary = [f"quantized {count} {op} node(s)" for op, count in sorted(quantized.items())]
    summary += [f"left float: {count} {what}" for what, count in sorted(skipped.items())]
    summary.append(f"dropped {len(dead)} FP32 initializer(s), added {len(rw.new_inits)}")
    return model, rw.records, summary


def conv_weight_as_matmul(q):
    """[M, C, k] conv weight -> [k*C, M] MatMul B, row j*C + c = q[:, c, j]."""
    m, c, k = q.shape
    return np.ascontiguousarray(q.transpose(2, 1, 0).reshape(k * c, m))


def stored_weight(layout, stored, shape):
    """Inverse of the storage in _Rewriter.weight: int8 in torch layout `shape`."""
    if layout == "Conv":
        return (stored.astype(np.int16) - CONV_WEIGHT_OFFSET).astype(np.int8)
    if layout == "ConvAsMatMul":
        m, c, k = shape
        return np.ascontiguousarray(stored.reshape(k, c, m).transpose(2, 1, 0))
    return stored.T


def quantized_counts(records):
    return collections.Counter(r.op for r in records)


# ---------------------------------------------------------------------------
# PyTorch emulation
# ---------------------------------------------------------------------------

def dynamic_quantize(x):
    """ONNX DynamicQuantizeLinear in float32, as ORT computes it.

    Returns (q - zero_point) as float64 and the scale (0-d float32)."""
    x = x.float()
    lo = torch.clamp(x.min(), max=0)
    hi = torch.clamp(x.max(), min=0)
    scale = (hi - lo) / 255
    if float(scale) == 0:
        scale = torch.ones((), dtype=torch.float32)  # all-zero input; ORT uses 1 too
    zero_point = torch.clamp(torch.round(-lo / scale), 0, 255)
    q = torch.clamp(torch.round(x / scale) + zero_point, 0, 255)
    return (q - zero_point).double(), scale


class FakeQuantLinear(nn.Module):
    """nn.Linear as MatMulInteger(u8 x, s8 W^T) -> float -> * (x_scale * w_scale) + bias."""

    def __init__(self, linear, record):
        super().__init__()
        self.weight = linear.weight  # kept for code that reads .weight; not used below
        self.bias = linear.bias
        self.register_buffer("weight_q", torch.from_numpy(record.q.T.astype(np.float64)))
        self.register_buffer("weight_scale", torch.from_numpy(record.scale.copy()))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        centred, x_scale = dynamic_quantize(x)
        acc = torch.matmul(centred, self.weight_q)  # float64: exact for these sizes
        y = acc.float() * (x_scale * self.weight_scale)
        return y if self.bias is None else y + self.bias


class FakeQuantConv1d(nn.Module):
    """nn.Conv1d as ConvInteger(u8 x, s8 W) -> float -> * (x_scale * w_scale) + bias."""

    def __init__(self, conv, record):
        super().__init__()
        self.weight = conv.weight
        self.bias = conv.bias
        self.register_buffer("weight_q", torch.from_numpy(record.q.astype(np.float64)))
        self.register_buffer("weight_scale", torch.from_numpy(record.scale.reshape(1, -1, 1).copy()))
        self.stride, self.dilation, self.groups = conv.stride, conv.dilation, conv.groups
        self.padding, self.padding_mode = conv.padding, conv.padding_mode
        self.pre_pad = getattr(conv, "_reversed_padding_repeated_twice", None)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        padding = self.padding
        if self.padding_mode != "zeros":  # exported as a float Pad before the conv
            x = F.pad(x, self.pre_pad, mode=self.padding_mode)
            padding = 0
        centred, x_scale = dynamic_quantize(x)
        # Zero padding of the centred input = ConvInteger padding with the zero point.
        acc = F.conv1d(centred, self.weight_q, None, self.stride, padding, self.dilation, self.groups)
        y = acc.float() * (x_scale * self.weight_scale)
        return y if self.bias is None else y + self.bias.reshape(1, -1, 1)


def _set_submodule(root, name, module):
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module)


def emulate(module, records):
    """Copy of `module` with each quantized Linear/Conv1d replaced by its fake-quant twin.

    Modules are matched to graph weights by content, so the names need not agree."""
    by_key = {}
    for r in records:
        by_key.setdefault(r.key, []).append(r)
    emulated = copy.deepcopy(module)
    matched = set()
    for name, m in list(emulated.named_modules()):
        if type(m) not in (nn.Linear, nn.Conv1d):
            continue
        recs = by_key.get(weight_key(m.weight.detach().numpy()))
        if not recs:
            continue
        conv = isinstance(m, nn.Conv1d)
        if any((r.op == "Conv") != conv for r in recs):
            raise RuntimeError(f"{name}: weight matches a graph node of another kind")
        fake = FakeQuantConv1d(m, recs[0]) if conv else FakeQuantLinear(m, recs[0])
        _set_submodule(emulated, name, fake)
        matched.add(recs[0].key)
    missing = sorted({r.node for r in records if r.key not in matched})
    if missing:
        raise RuntimeError(f"no PyTorch module for quantized node(s): {missing[:5]}")
    return emulated


def fake_quant_modules(emulated):
    return [(n, m) for n, m in emulated.named_modules()
            if isinstance(m, (FakeQuantLinear, FakeQuantConv1d))]


def check_consistency(model, records, emulated):
    """The graph's integer weights and scales equal the emulation's, and both equal a fresh
    quantization of the PyTorch weights. Returns the number of modules checked."""
    inits = {t.name: t for t in model.graph.initializer}
    by_key = {r.key: r for r in records}
    fakes = fake_quant_modules(emulated)
    for name, m in fakes:
        r = by_key[weight_key(m.weight.detach().numpy())]
        graph_q = stored_weight(r.layout, numpy_helper.to_array(inits[r.q_name]), r.q.shape)
        graph_scale = numpy_helper.to_array(inits[r.scale_name]).reshape(-1)
        module_q = m.weight_q.numpy()
        module_q = module_q if isinstance(m, FakeQuantConv1d) else module_q.T
        fresh_q, fresh_scale = quantize_weight(m.weight.detach().numpy())
        if not (np.array_equal(graph_q, fresh_q) and np.array_equal(module_q, fresh_q.astype(np.float64))):
            raise RuntimeError(f"{name}: integer weights differ between graph and emulation")
        if not (np.array_equal(graph_scale, fresh_scale)
                and np.array_equal(m.weight_scale.numpy().reshape(-1), fresh_scale)):
            raise RuntimeError(f"{name}: weight scales differ between graph and emulation")
    return len(fakes)


def check_all_ran(emulated):
    idle = [n for n, m in fake_quant_modules(emulated) if m.calls == 0]
    if idle:
        raise RuntimeError(f"fake-quant modules never ran (weights used outside the module?): {idle[:5]}")


# ---------------------------------------------------------------------------
# Minimal numpy evaluator (float32 as ORT's CPU kernels; integer ops exact)
# ---------------------------------------------------------------------------

def _dql(x):
    x = x.astype(np.float32)
    lo = np.float32(min(np.float32(0), x.min()))
    hi = np.float32(max(np.float32(0), x.max()))
    scale = np.float32((hi - lo) / np.float32(255)) if hi != lo else np.float32(1)
    zp = np.float32(np.clip(np.rint(np.float32(0) - lo / scale), 0, 255))
    q = np.clip(np.rint(x / scale) + zp, 0, 255)
    return q.astype(np.uint8), np.array(scale, np.float32), np.array(zp, np.uint8)


def _conv1d(x, w, attrs):
    """1-D convolution in float64 (exact for integer inputs)."""
    pads = attrs.get("pads", [0, 0])
    stride = attrs.get("strides", [1])[0]
    dilation = attrs.get("dilations", [1])[0]
    group = attrs.get("group", 1)
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad")
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[1])))
    w = w.astype(np.float64)
    m, per_group, k = w.shape
    out_len = (x.shape[2] - dilation * (k - 1) - 1) // stride + 1
    idx = np.arange(out_len)[:, None] * stride + np.arange(k)[None, :] * dilation
    outs = []
    for g in range(group):
        cols = x[:, g * per_group:(g + 1) * per_group][:, :, idx]  # [N, C/g, T, k]
        wg = w[g * (m // group):(g + 1) * (m // group)]
        outs.append(np.tensordot(cols, wg, axes=([1, 3], [1, 2])).transpose(0, 2, 1))
    return np.ascontiguousarray(np.concatenate(outs, axis=1))


def _erf(x):
    return torch.erf(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def _normalize(x, axes, eps):
    # Statistics in float64: numpy's float32 sums over long strided axes drift, and
    # ORT's kernels are accurate, so the evaluator should not add its own error.
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=axes, keepdims=True)
    return ((x64 - mean) / np.sqrt(var + eps)).astype(np.float32)


def _layer_norm(x, scale, bias, axis, eps):
    y = _normalize(x, tuple(range(axis % x.ndim, x.ndim)), eps) * scale
    return (y + bias if bias is not None else y).astype(np.float32)


def _run_node(node, args, attrs):
    op = node.op_type
    a = args[0] if args else None
    if op == "Constant":
        return [numpy_helper.to_array(attrs["value"])]
    if op in ("Add", "Sub", "Mul", "Div", "Pow"):
        b = args[1]
        if op == "Div" and np.issubdtype(a.dtype, np.integer):
            return [a // b]
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
              "Pow": np.power}[op]
        return [fn(a, b).astype(np.result_type(a, b))]
    simple = {"Sqrt": np.sqrt, "Erf": _erf, "Identity": lambda v: v, "Neg": np.negative,
              "Tanh": np.tanh, "Relu": lambda v: np.maximum(v, 0)}
    if op in simple:
        return [simple[op](a)]
    if op == "MatMul":
        return [np.matmul(a, args[1])]
    if op == "Gemm":
        b = args[1].T if attrs.get("transB", 0) else args[1]
        y = np.float32(attrs.get("alpha", 1.0)) * (a @ b)
        return [y + np.float32(attrs.get("beta", 1.0)) * args[2] if len(args) > 2 else y]
    if op == "Transpose":
        return [np.transpose(a, attrs.get("perm"))]
    if op == "Reshape":
        shape = [a.shape[i] if s == 0 else s for i, s in enumerate(args[1].tolist())]
        return [a.reshape(shape)]
    if op == "Unsqueeze":
        out = a
        for axis in sorted(int(v) % (a.ndim + len(args[1])) for v in args[1]):
            out = np.expand_dims(out, axis)
        return [out]
    if op == "Squeeze":
        return [np.squeeze(a, tuple(int(v) for v in args[1])) if len(args) > 1 else np.squeeze(a)]
    if op == "Shape":
        return [np.array(a.shape[attrs.get("start", 0):attrs.get("end", None)], dtype=np.int64)]
    if op == "Gather":
        return [np.take(a, args[1], axis=attrs.get("axis", 0))]
    if op == "Concat":
        return [np.concatenate(args, axis=attrs["axis"])]
    if op == "Slice":
        starts, ends = args[1], args[2]
        axes = args[3] if len(args) > 3 else range(len(starts))
        steps = args[4] if len(args) > 4 else [1] * len(starts)
        index = [slice(None)] * a.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            index[int(ax)] = slice(int(s), int(e), int(st))
        return [a[tuple(index)]]
    if op == "ReduceMean":
        axes = tuple(attrs["axes"]) if "axes" in attrs else None
        mean = a.astype(np.float64).mean(axis=axes, keepdims=bool(attrs.get("keepdims", 1)))
        return [mean.astype(a.dtype)]
    if op == "Softmax":
        axis = attrs.get("axis", -1)
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        return [e / e.sum(axis=axis, keepdims=True)]
    if op == "LayerNormalization":
        return [_layer_norm(a, args[1], args[2] if len(args) > 2 else None,
                            attrs.get("axis", -1), attrs.get("epsilon", 1e-5))]
    if op == "InstanceNormalization":
        shape = (1, -1) + (1,) * (a.ndim - 2)
        y = _normalize(a, tuple(range(2, a.ndim)), attrs.get("epsilon", 1e-5))
        return [(y * args[1].reshape(shape) + args[2].reshape(shape)).astype(np.float32)]
    if op == "Cast":
        to = {TensorProto.FLOAT: np.float32, TensorProto.INT64: np.int64,
              TensorProto.INT32: np.int32, TensorProto.DOUBLE: np.float64}[attrs["to"]]
        return [a.astype(to)]
    if op == "Conv":
        y = _conv1d(a, args[1], attrs).astype(np.float32)
        return [y + args[2].reshape(1, -1, 1) if len(args) > 2 else y]
    if op == "DynamicQuantizeLinear":
        return list(_dql(a))
    if op == "MatMulInteger":
        x = a.astype(np.float64) - args[2].astype(np.float64)
        w = args[1].astype(np.float64) - args[3].astype(np.float64)
        return [np.matmul(x, w).astype(np.int32)]
    if op == "ConvInteger":
        x = a.astype(np.float64) - args[2].astype(np.float64)
        w = args[1].astype(np.float64) - args[3].astype(np.float64)
        return [_conv1d(x, w, attrs).astype(np.int32)]
    raise NotImplementedError(f"run_graph: op {op}")


def run_graph(model, feeds):
    """Evaluates a single-graph ONNX model on numpy inputs; returns the graph outputs."""
    values = run_graph_values(model, feeds)
    return [values[o.name] for o in model.graph.output]


def run_graph_values(model, feeds):
    """Like run_graph, but returns every value by name (initializers included)."""
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values.update(feeds)
    for node in model.graph.node:
        args = [values[name] if name else None for name in node.input]
        while args and args[-1] is None:
            args.pop()
        outs = _run_node(node, args, _attrs(node))
        values.update(zip(node.output, outs))
    return values


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------

class _Toy(nn.Module):
    """Convs (with and without bias; strided, k=10/3/2, odd lengths; grouped and padded),
    Linear on 3-D input (MatMul), an activation x activation MatMul that must stay float,
    and a Linear on 2-D input (Gemm)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 32, 10, stride=5, bias=False)  # shallow: float by default
        self.conv2 = nn.Conv1d(32, 32, 4, padding=2, groups=2)   # grouped: float by default
        self.conv3 = nn.Conv1d(32, 32, 3, stride=2)
        self.conv4 = nn.Conv1d(32, 32, 2, stride=2, bias=False)
        self.proj = nn.Linear(32, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        h = F.gelu(self.conv2(F.gelu(self.conv1(x.unsqueeze(1)))))  # 799 -> 800 frames
        h = F.gelu(self.conv4(F.gelu(self.conv3(h))))               # 399 -> 199 frames
        h = self.proj(h.transpose(1, 2))                      # [B, T, 16] via MatMul
        h = torch.softmax(h @ h.transpose(1, 2) / 4, -1) @ h  # stays float
        return self.head(h.mean(dim=1))                       # [B, 4] via Gemm


def _selftest_variant(module, onnx_bytes, x, as_matmul, grouped, min_depth):
    """Quantizes with the given switches; checks the graph and the emulation agree."""
    global CONV_AS_MATMUL, QUANTIZE_GROUPED_CONV, MIN_CONV_DEPTH
    saved = CONV_AS_MATMUL, QUANTIZE_GROUPED_CONV, MIN_CONV_DEPTH
    CONV_AS_MATMUL, QUANTIZE_GROUPED_CONV, MIN_CONV_DEPTH = as_matmul, grouped, min_depth
    try:
        model, records, summary = quantize_model(onnx.load_from_string(onnx_bytes))
    finally:
        CONV_AS_MATMUL, QUANTIZE_GROUPED_CONV, MIN_CONV_DEPTH = saved
    print(f"-- CONV_AS_MATMUL={as_matmul} QUANTIZE_GROUPED_CONV={grouped} "
          f"MIN_CONV_DEPTH={min_depth}: " + "; ".join(summary))
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    strided = 2 + (min_depth <= 10)  # conv1 has C * k = 10
    counts = quantized_counts(records)
    assert counts == {"Conv": strided + grouped, "MatMul": 1, "Gemm": 1}, counts
    ops = collections.Counter(n.op_type for n in model.graph.node)
    assert ops["MatMul"] == 2 and ops["Gemm"] == 0, ops
    assert ops["Conv"] == 4 - strided - grouped, ops
    assert ops["ConvInteger"] == grouped + (0 if as_matmul else strided), ops
    assert ops["MatMulInteger"] == 2 + (strided if as_matmul else 0), ops

    emulated = emulate(module, records)
    print(f"graph and emulation agree on {check_consistency(model, records, emulated)} weight(s)")
    with torch.no_grad():
        emulated_out = emulated(x).numpy()
    check_all_ran(emulated)
    values = run_graph_values(model, {"x": x.numpy()})
    int8_diff = float(np.abs(values["y"] - emulated_out).max())
    print(f"numpy INT8 graph vs emulation: {int8_diff:.2e}")
    assert int8_diff < 1e-4, "INT8 graph and emulation disagree"
    return values, emulated_out


def selftest():
    torch.manual_seed(0)
    module = _Toy().eval()
    x = torch.randn(2, 4000)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, (x,), buf, input_names=["x"], output_names=["y"],
                          opset_version=17, do_constant_folding=True)
    with torch.no_grad():
        reference = module(x).numpy()
    graph_fp32 = run_graph(onnx.load_from_string(buf.getvalue()), {"x": x.numpy()})[0]
    fp32_diff = float(np.abs(graph_fp32 - reference).max())
    print(f"numpy FP32 graph vs PyTorch: {fp32_diff:.2e}")
    assert fp32_diff < 1e-4, "FP32 graph and PyTorch disagree"

    _, emulated_out = _selftest_variant(module, buf.getvalue(), x, CONV_AS_MATMUL,
                                        QUANTIZE_GROUPED_CONV, MIN_CONV_DEPTH)
    quant_err = float(np.abs(emulated_out - reference).max())
    print(f"INT8 vs FP32: {quant_err:.2e} (scale {np.abs(reference).max():.2f})")
    assert 0 < quant_err < 0.05 * np.abs(reference).max(), "INT8 error implausible"

    # The im2col + MatMulInteger convs compute ConvInteger's integers: every value of
    # the FP32 graph's nodes (conv outputs included) is bit-identical in both variants.
    with_matmul, _ = _selftest_variant(module, buf.getvalue(), x, True, True, 0)
    with_conv, _ = _selftest_variant(module, buf.getvalue(), x, False, True, 0)
    fp32_nodes = onnx.load_from_string(buf.getvalue()).graph.node
    names = [o for n in fp32_nodes for o in n.output]
    for name in names:
        a, b = with_matmul[name], with_conv[name]
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{name}: MatMulInteger and ConvInteger convs differ"
    print(f"MatMulInteger and ConvInteger convs: all {len(names)} FP32-graph values bit-identical "
          f"({sum(n.op_type == 'Conv' for n in fp32_nodes)} conv outputs)")
    print("selftest passed")


def main(argv):
    if argv[1:] != ["selftest"]:
        raise SystemExit(f"usage: {argv[0]} selftest")
    selftest()


if __name__ == "__main__":
    main(sys.argv)
