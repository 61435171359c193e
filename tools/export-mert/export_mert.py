#!/usr/bin/python3
"""Export MERT-shaped audio encoders to ONNX for ApexCluster.

Every exported graph follows one contract: input `input_values` float32
[batch, samples] of raw 24 kHz mono audio, output `layer_means` float32
[batch, L, hidden] = time-mean of the hidden states at the chosen layers.
See README.md for the subcommands and the full contract.
"""
import argparse
import dataclasses
import glob
import hashlib
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

import quantize_int8

SAMPLE_RATE = 24000
SEGMENT_SAMPLES = 30 * SAMPLE_RATE
DEFAULT_LAYERS = (3, 6, 9, 12)
DEFAULT_OPSET = 17  # highest opset torch 1.13's exporter supports
NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor's zero-mean/unit-variance epsilon
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_GATE_AUDIO = os.path.join(REPO_ROOT, "src", "Apex.Cli", "samples")
GATE_THRESHOLD = 0.995  # min cosine, FP32 vs INT8, over every (segment, layer) pooled vector
AUDIO_EXTENSIONS = (".ogg", ".mp3", ".wav", ".flac", ".m4a", ".opus")


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
        "apex.quantization": "fp32",
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
    if args.quantize:
        out_int8 = args.out_int8 or int8_path(args.out)
        _, gate, _ = export_int8(wrapper, args.out, out_int8, args, args.gate_max_seconds)
        enforce_gate(gate, out_int8, args)


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
    write_json(args.out_reference, reference)
    if not args.quantize:
        return

    out_model = args.out_int8_model or int8_path(args.out_model)
    out_reference = args.out_int8_reference or int8_path(args.out_reference, ".reference.json")
    emulated, gate, fp32_sha = export_int8(module, args.out_model, out_model, args,
                                           args.gate_max_seconds)
    fp32_rows, int8_rows = embed_rows(module, emulated, rows)
    check_outputs("int8 layer_means", int8_rows)
    cos = pooled_cosines(fp32_rows, int8_rows)
    print(f"int8 reference: cosine vs FP32 min {cos.min():.6f} mean {cos.mean():.6f}, "
          f"max abs diff {np.abs(int8_rows - fp32_rows).max():.4f}")
    reference = tiny_reference(args.audio, samples, int8_rows, DEFAULT_LAYERS)
    reference.update({
        "quantization": "int8",
        "quantized_from": fp32_sha,
        "batch": 1,  # each row run alone; INT8 activation scales depend on the batch
        "cosine_min": round(float(cos.min()), 6),
        "cosine_mean": round(float(cos.mean()), 6),
    })
    write_json(out_reference, reference)
    enforce_gate(gate, out_model, args)


def write_json(path, value):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {os.path.getsize(path):,} bytes")


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
    if args.quantize:
        out_int8 = args.out_int8 or int8_path(args.out)
        # A full-size forward costs ~16 s per segment on 2 cores: gate on 30 s per file.
        seconds = args.gate_max_seconds if args.gate_max_seconds is not None else 30
        _, gate, _ = export_int8(module, args.out, out_int8, args, seconds)
        enforce_gate(gate, out_int8, args)


# ---------------------------------------------------------------------------
# INT8 quantization (--quantize int8)
# ---------------------------------------------------------------------------

def int8_path(path, suffix=".onnx"):
    """x.onnx -> x-int8.onnx (x.reference.json -> x-int8.reference.json)."""
    if path.endswith(suffix):
        return path[:-len(suffix)] + "-int8" + suffix
    return path + "-int8"


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embed_rows(fp32_module, int8_module, rows):
    """Runs each row alone (batch 1, as the C# CPU encoder does): the INT8 activation
    scales are per tensor, so an INT8 row's output depends on what it is batched with."""
    fp32, int8 = [], []
    with torch.no_grad():
        for row in rows:
            x = torch.from_numpy(row[None])
            fp32.append(fp32_module(x).numpy()[0])
            int8.append(int8_module(x).numpy()[0])
    return np.stack(fp32), np.stack(int8)


def pooled_cosines(a, b):
    """Cosine per (segment, layer) of two [S, L, hidden] arrays, in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def gate_files(audio_dir):
    files = sorted(p for p in glob.glob(os.path.join(audio_dir, "*"))
                   if p.lower().endswith(AUDIO_EXTENSIONS))
    if not files:
        raise SystemExit(f"--gate-audio {audio_dir}: no audio files")
    return files


def accuracy_gate(fp32_module, int8_module, audio_dir, max_seconds):
    """FP32 vs INT8 cosines over the gate audio; returns the figures for the metadata."""
    cosines, names = [], []
    for path in gate_files(audio_dir):
        samples = decode_audio(path)
        if max_seconds is not None:
            samples = samples[:int(max_seconds * SAMPLE_RATE)]
        start = time.perf_counter()
        cos = pooled_cosines(*embed_rows(fp32_module, int8_module, segment(samples)))
        print(f"gate {os.path.basename(path)}: {cos.shape[0]} segment(s), cosine min "
              f"{cos.min():.6f} mean {cos.mean():.6f} ({time.perf_counter() - start:.1f} s)")
        cosines.append(cos)
        names.append(os.path.basename(path))
    cos = np.concatenate(cosines)
    return {"cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
            "segments": int(cos.shape[0]), "audio": names,
            "max_seconds": max_seconds, "passed": bool(cos.min() >= GATE_THRESHOLD)}


def gate_metadata(gate):
    seconds = gate["max_seconds"]
    return {
        "apex.quantization.cosine_min": f"{gate['cosine_min']:.6f}",
        "apex.quantization.cosine_mean": f"{gate['cosine_mean']:.6f}",
        "apex.quantization.gate_threshold": str(GATE_THRESHOLD),
        "apex.quantization.gate": "passed" if gate["passed"] else "failed",
        "apex.quantization.gate_audio": ",".join(gate["audio"]),
        "apex.quantization.gate_max_seconds": "all" if seconds is None else f"{seconds:g}",
        "apex.quantization.segments": str(gate["segments"]),
    }


def export_int8(module, fp32_path, out_path, args, max_seconds):
    """Writes the INT8 model for the FP32 file just exported from `module`.

    Returns (emulating module, gate figures, sha256 of the FP32 file)."""
    import onnx
    start = time.perf_counter()
    fp32_sha = sha256_file(fp32_path)
    model, records, summary = quantize_int8.quantize_model(onnx.load(fp32_path))
    for line in summary:
        print(f"int8: {line}")
    emulated = quantize_int8.emulate(module, records).eval()
    checked = quantize_int8.check_consistency(model, records, emulated)
    print(f"int8: graph and emulation hold the same integer weights and scales ({checked} modules)")

    gate = accuracy_gate(module, emulated, args.gate_audio, max_seconds)
    quantize_int8.check_all_ran(emulated)
    verdict = "passed" if gate["passed"] else "FAILED"
    print(f"int8 gate {verdict}: cosine min {gate['cosine_min']:.6f} mean {gate['cosine_mean']:.6f} "
          f"over {gate['segments']} segment(s) x {len(module.layers)} layers "
          f"(threshold {GATE_THRESHOLD})")

    metadata = {p.key: p.value for p in model.metadata_props}
    metadata.update({
        "apex.quantization": "int8",
        "apex.quantized_from": fp32_sha,
        "apex.quantization.scheme": quantize_int8.SCHEME,
        **gate_metadata(gate),
    })
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    onnx.save(model, out_path)
    onnx.checker.check_model(out_path)
    fp32_size, int8_size = os.path.getsize(fp32_path), os.path.getsize(out_path)
    if int8_size >= fp32_size:
        raise SystemExit(f"{out_path}: INT8 file ({int8_size:,} bytes) not smaller than FP32 ({fp32_size:,})")
    print(f"wrote {out_path}: {int8_size:,} bytes ({int8_size / fp32_size:.1%} of FP32) "
          f"in {time.perf_counter() - start:.1f} s")
    return emulated, gate, fp32_sha


def enforce_gate(gate, path, args):
    if not gate["passed"] and not args.allow_failed_gate:
        raise SystemExit(
            f"INT8 accuracy gate failed: cosine min {gate['cosine_min']:.6f} < {GATE_THRESHOLD}. "
            f"{path} was written with apex.quantization.gate=failed; "
            "pass --allow-failed-gate to accept it.")


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

def add_quantize_options(parser, out_options):
    group = parser.add_argument_group("INT8 quantization")
    group.add_argument("--quantize", choices=["int8"],
                       help="also write a dynamically quantized INT8 model")
    for option, default in out_options:
        group.add_argument(option, help=f"INT8 output (default: {default})")
    group.add_argument("--gate-audio", default=DEFAULT_GATE_AUDIO,
                       help="folder of recordings for the accuracy gate (default: %(default)s)")
    group.add_argument("--gate-max-seconds", type=float,
                       help="use at most this much audio per gate file (default: all; random-full: 30)")
    group.add_argument("--allow-failed-gate", action="store_true",
                       help=f"exit 0 even if the min cosine is below {GATE_THRESHOLD}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    hf = sub.add_parser("hf", help="export a local Hugging Face MERT checkpoint")
    hf.add_argument("--checkpoint", required=True, help="checkpoint directory")
    hf.add_argument("--out", required=True)
    hf.add_argument("--layers", type=int_list(0), default=DEFAULT_LAYERS)
    hf.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    add_quantize_options(hf, [("--out-int8", "OUT with -int8 before .onnx")])
    hf.set_defaults(run=cmd_hf)

    tiny = sub.add_parser("tiny", help="tiny random MERT-shaped model + reference outputs")
    tiny.add_argument("--out-model", required=True)
    tiny.add_argument("--out-reference", required=True)
    tiny.add_argument("--audio", required=True)
    tiny.add_argument("--seed", type=int, default=1234)
    tiny.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    add_quantize_options(tiny, [("--out-int8-model", "OUT_MODEL with -int8 before .onnx"),
                                ("--out-int8-reference", "OUT_REFERENCE with -int8 before .reference.json")])
    tiny.set_defaults(run=cmd_tiny)

    full = sub.add_parser("random-full", help="full-size random MERT-95M-shaped model")
    full.add_argument("--out", required=True)
    full.add_argument("--seed", type=int, default=1234)
    full.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    add_quantize_options(full, [("--out-int8", "OUT with -int8 before .onnx")])
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
