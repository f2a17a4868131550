#!/usr/bin/env python3
"""The PyTorch side of `amflow bench`: the same work timed with Hugging Face `Dinov2Model` in
PyTorch eager on the CPU, so BENCHMARKS.md can put the two side by side.

  pair: the backbone on a frame pair [2, 3, S, S] plus every block's vanilla AM flow
        softmax_j |X(t) - X(t+1)| summed over queries, and the attention column sums; the
        attention logits X are recomputed from each block's input (Q K^T / sqrt(d)), as
        transformers returns only the probabilities.
  clip: the backbone on one clip of 8 frames [8, 3, S, S] with the logits and vanilla flow of
        two blocks (1 and 12, the demo classifier's AM blocks): the backbone share of
        `amflow bench --cases classifier`, which also runs its adapters and temporal modules.

Warm-up runs are excluded and the median is reported, as `amflow bench` does. Needs torch and
transformers (optional: BENCHMARKS.md says which versions ran).

usage: python3 benches/reference.py [--case pair|clip] [--model DIR] [--size 224] [--runs 10]
                                    [--warmup 2]
"""
import argparse
import json
import os
import statistics
import time

import torch
import transformers
from transformers import Dinov2Model

p = argparse.ArgumentParser()
p.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "models", "dinov2-small"))
p.add_argument("--case", choices=["pair", "clip"], default="pair")
p.add_argument("--size", type=int, default=224)
p.add_argument("--runs", type=int, default=10)
p.add_argument("--warmup", type=int, default=2)
a = p.parse_args()

model = Dinov2Model.from_pretrained(a.model, attn_implementation="eager").eval()
cfg = model.config
heads = cfg.num_attention_heads
hd = cfg.hidden_size // heads


def logits(block, h):
    x = block.norm1(h)
    att = block.attention
    q = att.q_proj(x) if hasattr(att, "q_proj") else att.attention.query(x)
    k = att.k_proj(x) if hasattr(att, "k_proj") else att.attention.key(x)
    b, n, _ = q.shape
    q = q.view(b, n, heads, hd).transpose(1, 2)
    k = k.view(b, n, heads, hd).transpose(1, 2)
    return (q @ k.transpose(-1, -2)) / hd**0.5


def pair(x):
    with torch.no_grad():
        out = model(pixel_values=x, output_attentions=True, output_hidden_states=True)
        flows = []
        for i, at in enumerate(out.attentions):
            lg = logits(model.encoder.layer[i], out.hidden_states[i])
            flows.append((lg[0] - lg[1]).abs().softmax(-1).sum(-2))
            flows.append(at.sum(-2))
        return flows


def clip(x, blocks=(0, 11)):
    with torch.no_grad():
        out = model(pixel_values=x, output_hidden_states=True)
        flows = []
        for i in blocks:
            lg = logits(model.encoder.layer[i], out.hidden_states[i])
            flows.append((lg[:-1] - lg[1:]).abs().softmax(-1).sum(-2))
        return out.last_hidden_state, flows


def median_ms(f):
    for _ in range(a.warmup):
        f()
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


torch.manual_seed(0)
if a.case == "pair":
    x = torch.randn(2, 3, a.size, a.size)
    work = lambda: pair(x)  # noqa: E731
else:
    x = torch.randn(8, 3, a.size, a.size)
    work = lambda: clip(x)  # noqa: E731
result = {
    "case": a.case,
    "size": a.size,
    "pytorch_eager_cpu_ms": median_ms(work),
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
    "transformers": transformers.__version__,
}
print(json.dumps(result))
