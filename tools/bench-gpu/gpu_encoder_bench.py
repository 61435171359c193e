#!/usr/bin/env python3
"""Time the MERT-95M-shaped random encoder on a CUDA GPU (PyTorch, and ONNX Runtime if it can).

Reuses tools/export-mert/export_mert.py (model, weight-norm folding, ONNX export) unchanged.
PyTorch is timed in three precisions for each batch of 30 s segments (720,000 samples):

- fp32: strict float32 (TF32 off for matmuls and cuDNN convolutions)
- tf32: float32 tensors, TF32 tensor-core math allowed for matmuls and convolutions
- fp16: torch.autocast(float16) over the float32 module

If onnxruntime offers CUDAExecutionProvider, the exported graph is timed with it (fp32 graph).
Whether or not it does, the exported graph is checked against PyTorch's fp32 output.
See README.md beside this file; results: benchmarks/GPU-ENCODER.md.
"""
import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export-mert"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import export_mert as em  # noqa: E402

DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32)
GIB = 1024 ** 3


# ---------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------

def environment():
    env = {"python": platform.python_version(), "torch": torch.__version__,
           "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(gpu=torch.cuda.get_device_name(0),
                   gpu_memory_gib=round(props.total_memory / GIB, 1),
                   multiprocessors=props.multi_processor_count,
                   cudnn=torch.backends.cudnn.version())
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                  "--format=csv,noheader"], capture_output=True, text=True,
                                 timeout=30)
            env["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        except (OSError, subprocess.SubprocessError) as e:
            env["nvidia_smi"] = f"unavailable ({e})"
    try:
        import onnxruntime as ort
        env["onnxruntime"] = ort.__version__
        env["ort_providers"] = ort.get_available_providers()
        env["ort_device"] = ort.get_device()
    except ImportError as e:
        env["onnxruntime"] = None
        env["ort_error"] = str(e)
    try:
        import onnx
        env["onnx"] = onnx.__version__
    except ImportError:
        env["onnx"] = None
    return env


# ---------------------------------------------------------------------------
# analytic work per segment (multiply-adds x 2), for achieved TFLOP/s
# ---------------------------------------------------------------------------

def flops_per_segment(shape, samples):
    macs = 0
    length, in_ch = samples, 1
    for k, s in zip(shape.conv_kernels, shape.conv_strides):
        length = (length - k) // s + 1
        macs += in_ch * shape.conv_channels * k * length
        in_ch = shape.conv_channels
    t, h = length, shape.hidden
    macs += t * shape.conv_channels * h                                # feature projection
    macs += t * h * (h // shape.pos_groups) * shape.pos_kernel        # positional conv
    per_layer = 4 * t * h * h + 2 * t * t * h + 2 * t * h * shape.ffn  # qkvo, attention, FFN
    macs += shape.layers * per_layer
    return 2 * macs, t


# ---------------------------------------------------------------------------
# precision modes
# ---------------------------------------------------------------------------

def set_tf32(enabled):
    """Legacy flags, still honoured by torch 2.x; read back so the report shows what held."""
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def tf32_state():
    try:
        return {"matmul": bool(torch.backends.cuda.matmul.allow_tf32),
                "cudnn": bool(torch.backends.cudnn.allow_tf32)}
    except RuntimeError as e:  # newer torch may refuse to read mixed legacy/new settings
        return {"error": str(e)}


def mode_context(mode, device):
    if mode == "fp16":
        return torch.autocast(device_type=device.type, dtype=torch.float16)
    return contextlib.nullcontext()


def prepare_mode(mode):
    set_tf32(mode == "tf32")


# ---------------------------------------------------------------------------
# PyTorch timing
# ---------------------------------------------------------------------------

def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_input(batch, samples, seed):
    gen = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, samples, generator=gen)


def run_forward(module, x, mode, device):
    with torch.inference_mode(), mode_context(mode, device):
        return module(x)


def time_pytorch(module, mode, batch, samples, device, args):
    x = make_input(batch, samples, args.seed + batch).to(device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        run_forward(module, x, mode, device)
    sync(device)
    times = []
    budget_end = time.perf_counter() + args.min_seconds
    while len(times) < args.min_repeats or (time.perf_counter() < budget_end
                                            and len(times) < args.max_repeats):
        start = time.perf_counter()
        y = run_forward(module, x, mode, device)
        sync(device)
        times.append(time.perf_counter() - start)
    if not torch.isfinite(y.float()).all():
        raise RuntimeError(f"{mode} batch {batch}: non-finite outputs")
    median = statistics.median(times)
    result = {"batch": batch, "repeats": len(times), "median_s": median,
              "min_s": min(times), "max_s": max(times),
              "segments_per_s": batch / median}
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated() / GIB
    del x, y
    return result


def is_oom(error):
    oom_type = getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(error, oom_type) or "out of memory" in str(error).lower()


def bench_pytorch(module, modes, batches, samples, device, args, report):
    for mode in modes:
        prepare_mode(mode)
        report["tf32_flags"][mode] = tf32_state()
        rows = report["pytorch"].setdefault(mode, [])
        for batch in batches:
            try:
                result = time_pytorch(module, mode, batch, samples, device, args)
            except RuntimeError as e:
                if not is_oom(e):
                    raise
                result = {"batch": batch, "error": "out of memory"}
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            rows.append(result)
            print(f"pytorch {mode} batch {batch}: " + (
                result.get("error") or
                f"{result['segments_per_s']:.2f} segments/s, median {result['median_s'] * 1e3:.1f} ms "
                f"over {result['repeats']} (min {result['min_s'] * 1e3:.1f}, max {result['max_s'] * 1e3:.1f})"
                + (f", peak {result['peak_gib']:.2f} GiB" if "peak_gib" in result else "")),
                flush=True)
            write_report(report, args)


def accuracy_vs_fp32(module, modes, samples, device, args, report):
    """Max abs diff of each mode against strict fp32 on one batch of 2 (fresh input)."""
    x = make_input(2, samples, args.seed + 999).to(device)
    prepare_mode("fp32")
    ref = run_forward(module, x, "fp32", device).float()
    report["reference_fp32"] = ref.cpu().numpy()
    report["reference_input"] = x.cpu().numpy()
    for mode in modes:
        if mode == "fp32":
            continue
        prepare_mode(mode)
        y = run_forward(module, x, mode, device).float()
        diff = (y - ref).abs().max().item()
        rel = ((y - ref).norm() / ref.norm()).item()
        report["accuracy"][f"pytorch {mode} vs pytorch fp32"] = {"max_abs": diff, "rel_l2": rel}
        print(f"accuracy pytorch {mode} vs fp32: max abs {diff:.3e}, rel L2 {rel:.3e}", flush=True)
    prepare_mode("fp32")


# ---------------------------------------------------------------------------
# ONNX export + ONNX Runtime
# ---------------------------------------------------------------------------

def export_model(shape_name, path, args):
    start = time.perf_counter()
    if shape_name == "full":
        # The script's own subcommand: same seed -> same weights as the module timed here.
        em.main(["random-full", "--out", path, "--seed", str(args.seed),
                 "--opset", str(args.opset)])
    else:
        module = em.build_random(em.SHAPES[shape_name], args.seed)
        em.fold_weight_norm(module)
        metadata = em.contract_metadata(em.DEFAULT_LAYERS, em.SHAPES[shape_name].hidden, True,
                                        f"random-init seed={args.seed} ({shape_name}, smoke test)")
        em.export_onnx(module, path, args.opset, metadata, em.example_input(args.seed))
    return time.perf_counter() - start


def bench_ort(shape_name, batches, samples, args, report):
    ort_report = report["ort"]
    try:
        import onnxruntime as ort
    except ImportError as e:
        ort_report["skipped"] = f"onnxruntime not importable: {e}"
        print(ort_report["skipped"])
        return
    providers = ort.get_available_providers()
    has_cuda = "CUDAExecutionProvider" in providers
    path = args.onnx_path
    try:
        seconds = export_model(shape_name, path, args)
    except Exception as e:  # report, do not lose the PyTorch figures
        ort_report["export_error"] = f"{type(e).__name__}: {e}"
        print(f"ONNX export failed: {ort_report['export_error']}", flush=True)
        return
    ort_report["export_s"] = seconds
    ort_report["onnx_bytes"] = os.path.getsize(path)
    print(f"exported {path}: {ort_report['onnx_bytes']:,} bytes in {seconds:.1f} s", flush=True)

    if has_cuda:
        session_providers = [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]
    else:
        session_providers = ["CPUExecutionProvider"]
        ort_report["cuda_missing"] = (f"CUDAExecutionProvider not available (providers: "
                                      f"{providers}); ORT checked on CPU only")
        print(ort_report["cuda_missing"], flush=True)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(path, options, providers=session_providers)
    except Exception as e:
        ort_report["session_error"] = f"{type(e).__name__}: {e}"
        print(f"ORT session failed: {ort_report['session_error']}", flush=True)
        return
    used = session.get_providers()
    ort_report["session_providers"] = used
    on_cuda = used[0] == "CUDAExecutionProvider"
    ort_report["provider_options"] = session.get_provider_options()

    # Agreement with PyTorch strict fp32 on the same batch of 2.
    x = report.pop("reference_input")
    ref = report.pop("reference_fp32")
    out = session.run(["layer_means"], {"input_values": x})[0]
    diff = float(np.abs(out - ref).max())
    rel = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
    where = "CUDA" if on_cuda else "CPU"
    report["accuracy"][f"ORT {where} fp32 vs pytorch fp32"] = {"max_abs": diff, "rel_l2": rel}
    print(f"accuracy ORT {where} vs pytorch fp32: max abs {diff:.3e}, rel L2 {rel:.3e}", flush=True)

    if not on_cuda:
        # One timing on the CPU provider, for scale only (not a GPU figure).
        start = time.perf_counter()
        session.run(["layer_means"], {"input_values": x})
        ort_report["cpu_batch2_s"] = time.perf_counter() - start
        ort_report["cpu_threads"] = os.cpu_count()
        return

    rows = ort_report.setdefault("cuda", [])
    for batch in batches:
        feed = {"input_values": make_input(batch, samples, args.seed + batch).numpy()}
        try:
            for _ in range(args.warmup):
                session.run(["layer_means"], feed)
            times = []
            budget_end = time.perf_counter() + args.min_seconds
            while len(times) < args.min_repeats or (time.perf_counter() < budget_end
                                                    and len(times) < args.max_repeats):
                start = time.perf_counter()
                session.run(["layer_means"], feed)  # host in, host out, as the C# path does
                times.append(time.perf_counter() - start)
        except Exception as e:
            rows.append({"batch": batch, "error": f"{type(e).__name__}: {str(e)[:200]}"})
            print(f"ORT CUDA batch {batch}: {rows[-1]['error']}", flush=True)
            continue
        median = statistics.median(times)
        rows.append({"batch": batch, "repeats": len(times), "median_s": median,
                     "segments_per_s": batch / median})
        print(f"ORT CUDA batch {batch}: {batch / median:.2f} segments/s, median "
              f"{median * 1e3:.1f} ms over {len(times)}", flush=True)
        write_report(report, args)


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def fmt_rate(row):
    if row is None:
        return "n/a"
    return row.get("error") or f"{row['segments_per_s']:.1f}"


def fmt_mem(row):
    if row is None or "peak_gib" not in row:
        return "n/a"
    return f"{row['peak_gib']:.2f}"


def markdown(report):
    env = report["env"]
    lines = [f"# GPU encoder benchmark ({report['shape']} MERT-95M-shaped random encoder)", ""]
    if env.get("cuda_available"):
        lines.append(f"- GPU: {env.get('gpu')} ({env.get('gpu_memory_gib')} GiB, "
                     f"{env.get('multiprocessors')} SMs); nvidia-smi: {env.get('nvidia_smi')}")
    else:
        lines.append("- GPU: none (CPU run)")
    lines.append(f"- torch {env['torch']} (CUDA {env['torch_cuda']}, cuDNN {env.get('cudnn')}), "
                 f"python {env['python']}, onnx {env.get('onnx')}")
    lines.append(f"- onnxruntime: {env.get('onnxruntime')}; providers "
                 f"{env.get('ort_providers', env.get('ort_error'))}")
    lines.append(f"- input: {report['samples']:,} samples per segment "
                 f"({report['samples'] / em.SAMPLE_RATE:g} s at 24 kHz) -> {report['frames']:,} frames; "
                 f"about {report['gflop_per_segment']:.4g} GFLOP per segment (analytic, matmuls + convs)")
    lines.append(f"- timing: {report['args']['warmup']} warm-up forwards, then the median of at least "
                 f"{report['args']['min_repeats']} timed forwards (more until "
                 f"{report['args']['min_seconds']:g} s, at most {report['args']['max_repeats']}), "
                 "torch.cuda.synchronize after each; inference_mode; cudnn.benchmark on; "
                 "same input tensor each repeat, already on the GPU")
    lines.append(f"- precision flags read back per mode: {report['tf32_flags']}")
    lines.append("")
    modes = list(report["pytorch"])
    ort_rows = {r["batch"]: r for r in report["ort"].get("cuda", [])}
    header = ["batch"]
    for mode in modes:
        header += [f"PyTorch {mode} seg/s", f"{mode} peak GiB"]
    header += ["ORT CUDA fp32 seg/s"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    by_mode = {m: {r["batch"]: r for r in rows} for m, rows in report["pytorch"].items()}
    for batch in report["batches"]:
        cells = [str(batch)]
        for mode in modes:
            row = by_mode[mode].get(batch)
            cells += [fmt_rate(row), fmt_mem(row)]
        cells.append(fmt_rate(ort_rows.get(batch)) if ort_rows else "not measured")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for mode, rows in by_mode.items():
        ok = [r for r in rows.values() if "segments_per_s" in r]
        if ok:
            best = max(ok, key=lambda r: r["segments_per_s"])
            tflops = best["segments_per_s"] * report["gflop_per_segment"] / 1e3
            lines.append(f"- PyTorch {mode}: best {best['segments_per_s']:.1f} segments/s at batch "
                         f"{best['batch']} ({best['median_s'] * 1e3:.1f} ms per batch, about "
                         f"{tflops:.0f} TFLOP/s achieved)")
    if ort_rows:
        ok = [r for r in ort_rows.values() if "segments_per_s" in r]
        if ok:
            best = max(ok, key=lambda r: r["segments_per_s"])
            lines.append(f"- ORT CUDA fp32: best {best['segments_per_s']:.1f} segments/s at batch "
                         f"{best['batch']} (host input, host output)")
    for name, acc in report["accuracy"].items():
        lines.append(f"- accuracy, {name} (batch 2, fresh random input): max abs diff "
                     f"{acc['max_abs']:.3e}, relative L2 {acc['rel_l2']:.3e}")
    ort = report["ort"]
    for key in ("skipped", "export_error", "cuda_missing", "session_error"):
        if key in ort:
            lines.append(f"- ORT: {ort[key]}")
    if "export_s" in ort:
        lines.append(f"- ONNX export (export_mert.py, CPU): {ort['onnx_bytes']:,} bytes in "
                     f"{ort['export_s']:.1f} s; session providers {ort.get('session_providers')}")
    if "cpu_batch2_s" in ort:
        lines.append(f"- ORT CPU provider, batch 2, one run ({ort['cpu_threads']} cores): "
                     f"{ort['cpu_batch2_s']:.2f} s (for scale only; not a GPU figure)")
    lines.append(f"- total script wall time so far: {time.perf_counter() - report['t0']:.0f} s")
    return "\n".join(lines) + "\n"


def write_report(report, args):
    text = markdown(report)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    plain = {k: v for k, v in report.items()
             if k not in ("reference_fp32", "reference_input", "t0")}
    with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(plain, f, indent=1, default=str)
    return text


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="Markdown report (a .json is written beside it)")
    p.add_argument("--batches", type=em.int_list(1), default=DEFAULT_BATCHES)
    p.add_argument("--modes", default="fp32,tf32,fp16")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-repeats", type=int, default=5)
    p.add_argument("--max-repeats", type=int, default=50)
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--opset", type=int, default=em.DEFAULT_OPSET)
    p.add_argument("--onnx-path", default="/tmp/mert95-random.onnx")
    p.add_argument("--skip-ort", action="store_true")
    p.add_argument("--smoke", action="store_true",
                   help="logic check: tiny shape, 2 s input, batch 1, CPU if no GPU")
    args = p.parse_args(argv)
    args.modes = tuple(m for m in args.modes.split(",") if m)
    if not set(args.modes) <= {"fp32", "tf32", "fp16"}:
        p.error(f"unknown mode in {args.modes}")
    if args.smoke:
        args.batches, args.warmup, args.min_repeats, args.min_seconds = (1,), 1, 2, 0.0
        if args.onnx_path == p.get_default("onnx_path"):
            args.onnx_path = "/tmp/tiny-smoke.onnx"
    return args


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    env = environment()
    for key, value in env.items():
        print(f"{key}: {value}", flush=True)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    shape_name = "tiny" if args.smoke else "full"
    samples = 2 * em.SAMPLE_RATE if args.smoke else em.SEGMENT_SAMPLES
    modes = args.modes if device.type == "cuda" else ("fp32",)  # fp16/tf32 are GPU modes
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    gflop, frames = flops_per_segment(em.SHAPES[shape_name], samples)
    report = {"env": env, "shape": shape_name, "samples": samples, "frames": frames,
              "gflop_per_segment": gflop / 1e9, "batches": list(args.batches),
              "args": {k: v for k, v in vars(args).items()}, "tf32_flags": {},
              "pytorch": {}, "ort": {}, "accuracy": {}, "t0": t0}

    start = time.perf_counter()
    module = em.build_random(em.SHAPES[shape_name], args.seed)
    em.fold_weight_norm(module)
    params = sum(p.numel() for p in module.parameters())
    module = module.to(device)
    report["params"] = params
    print(f"built {shape_name} module: {params:,} parameters in "
          f"{time.perf_counter() - start:.1f} s; device {device}", flush=True)

    accuracy_vs_fp32(module, modes, samples, device, args, report)
    bench_pytorch(module, modes, args.batches, samples, device, args, report)
    del module
    if device.type == "cuda":
        torch.cuda.empty_cache()

    if args.skip_ort:
        report["ort"]["skipped"] = "--skip-ort given"
    else:
        bench_ort(shape_name, args.batches, samples, args, report)
    text = write_report(report, args)
    print()
    print(text)


if __name__ == "__main__":
    main()
