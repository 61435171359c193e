#!/usr/bin/env python3
"""PyTorch eager twin of the APEX head's training step, for `apex bench train`.

Same network and step as src/Apex.Training: Conv1d(layers -> 1, k=1) over the layer vectors, trunk of
Linear -> BatchNorm -> GELU -> Dropout(0.3), one branch per task (Linear -> BatchNorm -> GELU ->
Dropout(0.1) -> Linear), outputs scaled by sigmoid to 0..100 / 1..5, uncertainty-weighted masked MSE,
AdamW. Times one epoch over random samples (throughput does not depend on the values).

    /usr/bin/python3 tools/bench-train/train_bench.py --samples 211000 --batch-size 512 --threads 2 --json
Run with Debian's python3-torch and libopenblas0-pthread installed.
"""
import argparse
import json
import time

import torch
from torch import nn

POPULARITY, AESTHETIC = 2, 5


class Head(nn.Module):
    def __init__(self, layers, hidden, trunk, tasks, branch=128):
        super().__init__()
        self.mix = nn.Conv1d(layers, 1, kernel_size=1)
        blocks, width = [], hidden
        for size in trunk:
            blocks += [nn.Linear(width, size), nn.BatchNorm1d(size), nn.GELU(), nn.Dropout(0.3)]
            width = size
        self.trunk = nn.Sequential(*blocks)
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Linear(width, branch), nn.BatchNorm1d(branch), nn.GELU(), nn.Dropout(0.1), nn.Linear(branch, 1))
            for _ in range(tasks))
        self.register_buffer("low", torch.tensor([0.0] * POPULARITY + [1.0] * (tasks - POPULARITY)))
        self.register_buffer("span", torch.tensor([100.0] * POPULARITY + [4.0] * (tasks - POPULARITY)))

    def forward(self, x):
        shared = self.trunk(self.mix(x).squeeze(1))
        raw = torch.cat([b(shared) for b in self.branches], dim=1)
        return self.low + self.span * torch.sigmoid(raw)


def uncertainty_loss(pred, target, log_var):
    labelled = ~torch.isnan(target)
    filled = torch.where(labelled, target, torch.zeros_like(target))
    mask = labelled.float()
    counts = mask.sum(0)
    mse = ((pred - filled) ** 2 * mask).sum(0) / counts.clamp_min(1)
    present = (counts > 0).float()
    return ((0.5 * torch.exp(-log_var) * mse + 0.5 * log_var) * present).sum()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=211_000)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tasks = POPULARITY + AESTHETIC
    features = torch.randn(a.samples, a.layers, a.hidden)
    labels = torch.rand(a.samples, tasks) * torch.tensor([100.0] * 2 + [4.0] * 5) + torch.tensor([0.0] * 2 + [1.0] * 5)
    labels[torch.rand(a.samples, tasks) < 0.1] = float("nan")
    head = Head(a.layers, a.hidden, [512, 256], tasks)
    log_var = nn.Parameter(torch.zeros(tasks))
    optimizer = torch.optim.AdamW(list(head.parameters()) + [log_var], lr=1e-3, weight_decay=1e-2)
    head.train()
    order = torch.randperm(a.samples)
    start = time.perf_counter()
    for i in range(0, a.samples, a.batch_size):
        idx = order[i:i + a.batch_size]
        if len(idx) < 2:
            continue
        optimizer.zero_grad()
        loss = uncertainty_loss(head(features[idx]), labels[idx], log_var)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    result = {"framework": "pytorch-eager", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "samples": a.samples, "batch_size": a.batch_size, "epoch_seconds": seconds, "samples_per_s": a.samples / seconds}
    print(json.dumps(result) if a.json else f"{a.samples / seconds:.0f} samples/s ({seconds:.1f} s per epoch)")


if __name__ == "__main__":
    main()
