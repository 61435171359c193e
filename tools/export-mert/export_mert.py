#!/usr/bin/python3
"""Export MERT-shaped audio encoders to ONNX for ApexCluster.

Every exported graph follows one contract: input `input_values` float32
[batch, samples] of raw 24 kHz mono audio, output `layer_means` float32
[batch, L, hidden] = time-mean of the hidden states at the chosen layers.
See README.md for the subcommands and the full contract.
"""
import argparse
import dataclasses
import inspect
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 24000
SEGMENT_SAMPLES = 30 * SAMPLE_RATE
DEFAULT_LAYERS = (3, 6, 9, 12)
DEFAULT_OPSET = 17  # highest opset torch 1.13's exporter supports
NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor's zero-mean/unit-variance epsilon


@dataclasses.dataclass(frozen=True)
class MertShape:
    conv_channels: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    pos_kernel: int
    pos_groups: int
    conv_kernels: tuple = (10, 3, 3, 3, 3, 2, 2)
    conv_strides: tuple = (5, 2, 2, 2, 2, 2, 2)
    layer_norm_eps: float = 1e-5


TINY = MertShape(conv_channels=32, hidden=32, layers=12, heads=4, ffn=64,
                 pos_kernel=16, pos_groups=4)
FULL = MertShape(conv_channels=512, hidden=768, layers=12, heads=12, ffn=3072,
                 pos_kernel=128, pos_groups=16)
SHAPES = {"tiny": TINY, "full": FULL}


# ---------------------------------------------------------------------------
# MERT-v1 / HuBERT-base inference graph
# ---------------------------------------------------------------------------

def normalize_rows(x):
    """Per-segment zero mean / unit variance, population variance."""
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + NORM_EPS)


class FeatureExtractor(nn.Module):
    """Seven bias-free convs, GroupNorm after the first only, GELU after each."""

    def __init__(self, shape):
        super().__init__()
        layers = []
        in_ch = 1
        for i, (k, s) in enumerate(zip(shape.conv_kernels, shape.conv_strides)):
            layers.append(nn.Conv1d(in_ch, shape.conv_channels, k, stride=s, bias=False))
            if i == 0:
                layers.append(nn.GroupNorm(shape.conv_channels, shape.conv_channels))
            layers.append(nn.GELU())
            in_ch = shape.conv_channels
        self.layers = nn.Sequential(*layers)

    def forward(self, audio):
        return self.layers(audio.unsqueeze(1))  # [B, C, T]


class PositionalConv(nn.Module):
    """Grouped conv with weight norm over the kernel axis, as in wav2vec2."""

    def __init__(self, shape):
        super().__init__()
        conv = nn.Conv1d(shape.hidden, shape.hidden, shape.pos_kernel,
                         padding=shape.pos_kernel // 2, groups=shape.pos_groups)
        self.conv = nn.utils.weight_norm(conv, name="weight", dim=2)
        self.trim = 1 if shape.pos_kernel % 2 == 0 else 0
        self.act = nn.GELU()

    def forward(self, x):  # x: [B, T, H]
        y = self.conv(x.transpose(1, 2))
        if self.trim:
            y = y[:, :, :-self.trim]  # even kernel with K//2 padding yields one extra frame
        return self.act(y).transpose(1, 2)


class SelfAttention(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.heads = shape.heads
        self.head_dim = shape.hidden // shape.heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(shape.hidden, shape.hidden)
        self.k = nn.Linear(shape.hidden, shape.hidden)
        self.v = nn.Linear(shape.hidden, shape.hidden)
        self.out = nn.Linear(shape.hidden, shape.hidden)

    def split(self, x):
        b, t, _ = x.shape
        return x.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        b, t, h = x.shape
        q = self.split(self.q(x) * self.scale)
        k = self.split(self.k(x))
        v = self.split(self.v(x))
        weights = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(b, t, h)
        return self.out(context)


class EncoderLayer(nn.Module):
    """Post-LN transformer layer (HuBERT base / MERT-v1-95M)."""

    def __init__(self, shape):
        super().__init__()
        self.attention = SelfAttention(shape)
        self.attn_norm = nn.LayerNorm(shape.hidden, eps=shape.layer_norm_eps)
        self.ffn = nn.Sequential(nn.Linear(shape.hidden, shape.ffn), nn.GELU(),
                                 nn.Linear(shape.ffn, shape.hidden))
        self.final_norm = nn.LayerNorm(shape.hidden, eps=shape.layer_norm_eps)

    def forward(self, x):
        x = self.attn_norm(x + self.attention(x))
        return self.final_norm(x + self.ffn(x))


class MertEncoder(nn.Module):
    """Returns hidden_states: [embedding output, layer 1 output, ..., layer N output]."""

    def __init__(self, shape):
        super().__init__()
        self.features = FeatureExtractor(shape)
        self.proj_norm = nn.LayerNorm(shape.conv_channels, eps=shape.layer_norm_eps)
        self.proj = nn.Linear(shape.conv_channels, shape.hidden)
        self.pos_conv = PositionalConv(shape)
        self.embed_norm = nn.LayerNorm(shape.hidden, eps=shape.layer_norm_eps)
        self.layers = nn.ModuleList(EncoderLayer(shape) for _ in range(shape.layers))

    def forward(self, audio):
        x = self.proj(self.proj_norm(self.features(audio).transpose(1, 2)))
        x = self.embed_norm(x + self.pos_conv(x))
        hidden_states = [x]
        for layer in self.layers:
            x = layer(x)
            hidden_states.append(x)
        return hidden_states


class LayerMeans(nn.Module):
    """Applies the contract around an encoder: normalise, encode, pick layers, time-mean."""

    def __init__(self, encoder, layers, normalize, hf_outputs=False):
        super().__init__()
        self.encoder = encoder
        self.layers = tuple(layers)
        self.normalize = normalize
        self.hf_outputs = hf_outputs

    def forward(self, input_values):
        x = normalize_rows(input_values) if self.normalize else input_values
        if self.hf_outputs:
            hidden_states = self.encoder(x, output_hidden_states=True,
                                         return_dict=True).hidden_states
        else:
            hidden_states = self.encoder(x)
        picked = torch.stack([hidden_states[i] for i in self.layers], dim=1)
        return picked.mean(dim=2)


def randomize_norm_affines(module, generator):
    """Move norm scales/offsets off 1/0 so a dropped affine term would show up in tests."""
    for m in module.modules():
        if isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
            with torch.no_grad():
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=generator))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=generator))


def build_random(shape, seed):
    torch.manual_seed(seed)
    encoder = MertEncoder(shape)
    randomize_norm_affines(encoder, torch.Generator().manual_seed(seed + 1))
    return LayerMeans(encoder, DEFAULT_LAYERS, normalize=True).eval()


def fold_weight_norm(module):
    """Replace weight-norm hooks/parametrizations by plain weights; returns how many."""
    from torch.nn.utils import parametrize
    folded = 0
    for m in list(module.modules()):  # removing parametrizations edits the module tree
        if hasattr(m, "weight_g") and hasattr(m, "weight_v"):
            nn.utils.remove_weight_norm(m)
            folded += 1
        elif parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
            folded += 1
    return folded


def run_module(module, x):
    with torch.no_grad():
        return module(x).numpy()


def fold_and_verify(module, x):
    """Fold weight norm and prove on `x` that the outputs did not change."""
    unfolded = run_module(module, x)
    print(f"folded weight norm in {fold_weight_norm(module)} module(s)")
    folded = run_module(module, x)
    diff = float(np.abs(folded - unfolded).max())
    print(f"folded vs unfolded max abs diff: {diff:.3e}")
    if diff >= 1e-6:
        raise SystemExit("folding weight norm changed the outputs")
    return folded


def check_outputs(name, values):
    if not np.all(np.isfinite(values)):
        raise SystemExit(f"{name}: non-finite outputs")
    if float(values.std()) < 1e-3:
        raise SystemExit(f"{name}: degenerate outputs (std {values.std():.2e})")
    print(f"{name}: shape {values.shape} min {values.min():.6f} max {values.max():.6f} "
          f"mean {values.mean():.6f} std {values.std():.6f}")


# ---------------------------------------------------------------------------
# ONNX export
# ---------------------------------------------------------------------------

def legacy_exporter_kwargs():
    # Newer torch defaults to the dynamo exporter, which ignores dynamic_axes.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        return {"dynamo": False}
    return {}


def export_onnx(module, out_path, opset, metadata, example):
    """Export `module` under the encoder contract, stamp metadata, check the file."""
    assert_folded(module)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            module, (example,), out_path,
            input_names=["input_values"], output_names=["layer_means"],
            dynamic_axes={"input_values": {0: "batch", 1: "samples"},
                          "layer_means": {0: "batch"}},
            opset_version=opset, do_constant_folding=True,
            **legacy_exporter_kwargs())
    import onnx
    model = onnx.load(out_path)
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=str(value))
    onnx.save(model, out_path)
    onnx.checker.check_model(out_path)


def assert_folded(module):
    # Unfolded weight norm would be exported as weight_g/weight_v (or parametrization) ops.
    leftovers = [name for name, _ in module.named_parameters()
                 if name.endswith(("weight_g", "weight_v")) or ".parametrizations." in name]
    if leftovers:
        raise RuntimeError(f"weight norm not folded: {leftovers}")


def contract_metadata(layers, hidden, normalize, source):
    return {
        "apex.layers": ",".join(str(i) for i in layers),
        "apex.sample_rate": str(SAMPLE_RATE),
        "apex.hidden_size": str(hidden),
        "apex.normalize": "true" if normalize else "false",
        "apex.source": source,
    }


def example_input(seed=0, batch=2, seconds=2):
    # Two rows of a short clip: exercises the batch axis without tracing a full 30 s.
    gen = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, seconds * SAMPLE_RATE, generator=gen)


def int_list(minimum):
    """argparse type for a comma-separated list of integers >= minimum."""
    def parse(text):
        try:
            values = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a list of integers: {text}") from None
        if min(values) < minimum:
            raise argparse.ArgumentTypeError(f"values must be >= {minimum}: {text}")
        return values
    return parse


# ---------------------------------------------------------------------------
# Subcommand: hf
# ---------------------------------------------------------------------------

def read_preprocessor_config(checkpoint):
    path = os.path.join(checkpoint, "preprocessor_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    rate = config.get("sampling_rate")
    if rate != SAMPLE_RATE:
        raise SystemExit(f"{path}: sampling_rate is {rate}, expected {SAMPLE_RATE}")
    # Wav2Vec2FeatureExtractor defaults do_normalize to true when the key is absent.
    normalize = bool(config.get("do_normalize", True))
    print(f"{path}: sampling_rate={rate} do_normalize={normalize}")
    return normalize


def cmd_hf(args):
    try:
        from transformers import AutoModel  # only this subcommand needs transformers
    except ImportError:
        raise SystemExit("the hf subcommand needs the `transformers` package") from None

    normalize = read_preprocessor_config(args.checkpoint)
    model = AutoModel.from_pretrained(args.checkpoint, trust_remote_code=True,
                                      output_hidden_states=True).eval()
    config = model.config
    if max(args.layers) > config.num_hidden_layers:
        raise SystemExit(f"layers {args.layers} exceed num_hidden_layers={config.num_hidden_layers}")
    wrapper = LayerMeans(model, args.layers, normalize, hf_outputs=True).eval()
    example = example_input()
    check_outputs("layer_means", fold_and_verify(wrapper, example))
    name = os.path.basename(os.path.normpath(args.checkpoint))
    arch = ",".join(getattr(config, "architectures", None) or [config.model_type])
    source = f"{os.path.abspath(args.checkpoint)} (model {name}, {arch})"
    metadata = contract_metadata(args.layers, config.hidden_size, normalize, source)
    start = time.perf_counter()
    export_onnx(wrapper, args.out, args.opset, metadata, example)
    report_export(args.out, start)


def report_export(path, start):
    size = os.path.getsize(path)
    print(f"wrote {path}: {size:,} bytes in {time.perf_counter() - start:.1f} s")


# ---------------------------------------------------------------------------
# Subcommand: tiny
# ---------------------------------------------------------------------------

def decode_audio(path):
    """Decode exactly as the C# side does: ffmpeg to 24 kHz mono float32."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-vn", "-ac", "1",
           "-ar", str(SAMPLE_RATE), "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    raw = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
    samples = np.frombuffer(raw, dtype="<f4")
    if samples.size == 0:
        raise SystemExit(f"{path}: ffmpeg decoded no samples")
    return samples


def segment(samples):
    """Cut into 30 s rows; the last row is zero-padded."""
    count = math.ceil(samples.size / SEGMENT_SAMPLES)
    rows = np.zeros((count, SEGMENT_SAMPLES), dtype=np.float32)
    rows.reshape(-1)[:samples.size] = samples
    return rows


def tiny_reference(audio_path, samples, layer_means, layers):
    return {
        "audio": os.path.basename(audio_path),
        "sample_rate": SAMPLE_RATE,
        "segment_samples": SEGMENT_SAMPLES,
        "decoded_samples": int(samples.size),
        "decoded_sum": float(np.sum(samples, dtype=np.float64)),
        "decoded_abs_sum": float(np.sum(np.abs(samples), dtype=np.float64)),
        "layers": list(layers),
        "hidden": TINY.hidden,
        "normalize": True,
        "segments": int(layer_means.shape[0]),
        "layer_means": layer_means.tolist(),
        "song_mean": layer_means.astype(np.float64).mean(axis=0).tolist(),
    }


def cmd_tiny(args):
    module = build_random(TINY, args.seed)
    samples = decode_audio(args.audio)
    rows = segment(samples)
    print(f"{args.audio}: {samples.size} samples at {SAMPLE_RATE} Hz -> {rows.shape[0]} segment(s)")
    folded = fold_and_verify(module, torch.from_numpy(rows))
    check_outputs("layer_means", folded)

    source = f"random-init seed={args.seed} (tiny MERT-shaped fixture)"
    metadata = contract_metadata(DEFAULT_LAYERS, TINY.hidden, True, source)
    start = time.perf_counter()
    export_onnx(module, args.out_model, args.opset, metadata, example_input(args.seed))
    report_export(args.out_model, start)

    reference = tiny_reference(args.audio, samples, folded, DEFAULT_LAYERS)
    os.makedirs(os.path.dirname(os.path.abspath(args.out_reference)), exist_ok=True)
    with open(args.out_reference, "w", encoding="utf-8") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out_reference}: {os.path.getsize(args.out_reference):,} bytes")


# ---------------------------------------------------------------------------
# Subcommand: random-full
# ---------------------------------------------------------------------------

def cmd_random_full(args):
    module = build_random(FULL, args.seed)
    fold_weight_norm(module)
    params = sum(p.numel() for p in module.parameters())
    print(f"full-size random model: {params:,} parameters")
    source = (f"random-init seed={args.seed} (full-size MERT-95M-shaped, NOT the real "
              "weights; for throughput benchmarks only)")
    metadata = contract_metadata(DEFAULT_LAYERS, FULL.hidden, True, source)
    start = time.perf_counter()
    export_onnx(module, args.out, args.opset, metadata, example_input(args.seed))
    report_export(args.out, start)


# ---------------------------------------------------------------------------
# Subcommand: bench
# ---------------------------------------------------------------------------

def loaded_blas_libraries():
    """Shared libraries mapped into this process whose name mentions BLAS."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower()}
    except OSError:
        return set()
    return {p for p in paths if p.startswith("/")}


def check_blas(verbose):
    # Debian's torch reports BLAS_INFO=generic and picks the BLAS at load time via
    # libblas.so.3 alternatives, so look at what is actually mapped.
    torch.ones(64, 64) @ torch.ones(64, 64)
    libs = loaded_blas_libraries()
    if verbose:
        for line in torch.__config__.show().splitlines():
            for item in line.split(","):
                if "BLAS" in item or "LAPACK" in item or "MKL" in item:
                    print(f"torch config: {item.strip()}", file=sys.stderr)
        print(f"loaded BLAS libraries: {sorted(libs) or 'none found'}", file=sys.stderr)
    if not any("openblas" in p.lower() for p in libs):
        print("warning: torch is not using OpenBLAS; timings may not be representative",
              file=sys.stderr)


def time_batch(module, batch, repeats, seed):
    gen = torch.Generator().manual_seed(seed + batch)
    x = 0.1 * torch.randn(batch, SEGMENT_SAMPLES, generator=gen)
    with torch.no_grad():
        module(x)  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            module(x)
        elapsed = time.perf_counter() - start
    segments = batch * repeats
    return {"batch": batch, "segments_per_s": segments / elapsed,
            "seconds_per_segment": elapsed / segments}


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    check_blas(args.verbose)
    module = build_random(SHAPES[args.model_kind], args.seed)
    fold_weight_norm(module)
    results = []
    for batch in args.batches:
        result = time_batch(module, batch, args.repeats, args.seed)
        results.append(result)
        if not args.json:
            print(f"{args.model_kind} batch {batch}: {result['segments_per_s']:.3f} segments/s "
                  f"({result['seconds_per_segment']:.3f} s/segment)")
    if args.json:
        print(json.dumps({"framework": "pytorch-eager", "torch": torch.__version__,
                          "threads": torch.get_num_threads(), "model": args.model_kind,
                          "results": results}))


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    hf = sub.add_parser("hf", help="export a local Hugging Face MERT checkpoint")
    hf.add_argument("--checkpoint", required=True, help="checkpoint directory")
    hf.add_argument("--out", required=True)
    hf.add_argument("--layers", type=int_list(0), default=DEFAULT_LAYERS)
    hf.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    hf.set_defaults(run=cmd_hf)

    tiny = sub.add_parser("tiny", help="tiny random MERT-shaped model + reference outputs")
    tiny.add_argument("--out-model", required=True)
    tiny.add_argument("--out-reference", required=True)
    tiny.add_argument("--audio", required=True)
    tiny.add_argument("--seed", type=int, default=1234)
    tiny.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    tiny.set_defaults(run=cmd_tiny)

    full = sub.add_parser("random-full", help="full-size random MERT-95M-shaped model")
    full.add_argument("--out", required=True)
    full.add_argument("--seed", type=int, default=1234)
    full.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    full.set_defaults(run=cmd_random_full)

    bench = sub.add_parser("bench", help="time the PyTorch eager forward")
    bench.add_argument("--model-kind", choices=sorted(SHAPES), required=True)
    bench.add_argument("--batches", type=int_list(1), default=(1, 4, 8))
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--threads", type=int, default=2)
    bench.add_argument("--seed", type=int, default=1234)
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--verbose", action="store_true", help="show BLAS configuration")
    bench.set_defaults(run=cmd_bench)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
