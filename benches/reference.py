#!/usr/bin/env python3
"""The PyTorch side of `amflow bench`: the same work timed with Hugging Face `Dinov2Model` in
PyTorch eager on the CPU (or, with --device cuda, on an NVIDIA GPU), so BENCHMARKS.md can put the two side by side.

  pair: the backbone on a frame pair [2, 3, S, S] plus every block's vanilla AM flow
        softmax_j |X(t) - X(t+1)| summed over queries, and the attention column sums.
  clip: the backbone on one clip of 8 frames [8, 3, S, S] with the logits and vanilla flow of
        two blocks (1 and 12, the demo classifier's AM blocks): the backbone share of
        `amflow bench --cases classifier`, which also runs its adapters and temporal modules.

The attention logits X = Q K^T / sqrt(d) are taken where Hugging Face computes them, inside its
own eager attention function (registered through transformers' AttentionInterface: the same
code as "eager", keeping the logits and probabilities it makes), as a PyTorch user would; nothing
is computed twice and no hidden states are asked for, so both sides do the same work.

Warm-up runs are excluded and the median is reported, as `amflow bench` does. Needs torch and
transformers (optional: BENCHMARKS.md says which versions ran).

usage: python3 benches/reference.py [--case pair|clip] [--model DIR] [--size 224] [--runs 10]
                                    [--warmup 2] [--device cpu|cuda]
"""
import argparse
import json
import os
import statistics
import time

import torch
import transformers
from transformers import AttentionInterface, Dinov2Model

p = argparse.ArgumentParser()
p.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "models", "dinov2-small"))
p.add_argument("--case", choices=["pair", "clip"], default="pair")
p.add_argument("--size", type=int, default=224)
p.add_argument("--runs", type=int, default=10)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--device", default="cpu", help="where PyTorch runs: cpu or cuda (timed with a sync after each run)")
p.add_argument("--check", action="store_true", help="compare the flows with eager attention's recomputed logits, then exit")
a = p.parse_args()

captured = []


def keeping_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Hugging Face's eager attention, keeping the logits and probabilities it computes."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    logits = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        logits = logits + attention_mask
    probs = torch.nn.functional.softmax(logits, dim=-1)
    probs = torch.nn.functional.dropout(probs, p=dropout, training=module.training)
    captured.append((logits, probs))
    out = torch.matmul(probs, value).transpose(1, 2).contiguous()
    return out, probs


AttentionInterface.register("amflow_keeping", keeping_attention)
model = Dinov2Model.from_pretrained(a.model, attn_implementation="amflow_keeping", dtype=torch.float32).eval().to(a.device)


def sync():
    if a.device != "cpu":
        torch.cuda.synchronize()


def pair(x):
    captured.clear()
    with torch.no_grad():
        model(pixel_values=x)
        flows = []
        for lg, pr in captured:
            flows.append((lg[0] - lg[1]).abs().softmax(-1).sum(-2))
            flows.append(pr.sum(-2))
        return flows


def clip(x, blocks=(0, 11)):
    captured.clear()
    with torch.no_grad():
        out = model(pixel_values=x)
        flows = []
        for i in blocks:
            lg = captured[i][0]
            flows.append((lg[:-1] - lg[1:]).abs().softmax(-1).sum(-2))
        return out.last_hidden_state, flows


def median_ms(f):
    for _ in range(a.warmup):
        f()
        sync()
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        f()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


torch.manual_seed(0)
if a.check:
    # The kept logits are the ones eager attention computes: the flows equal those from logits
    # recomputed out of each block's input.
    ref = Dinov2Model.from_pretrained(a.model, attn_implementation="eager").eval()
    x = torch.randn(2, 3, a.size, a.size)
    with torch.no_grad():
        out = ref(pixel_values=x, output_attentions=True, output_hidden_states=True)
        heads = ref.config.num_attention_heads
        worst = 0.0
        got = pair(x)
        assert len(got) == 2 * len(out.attentions), f"{len(got)} flows kept for {len(out.attentions)} blocks"
        for i, at in enumerate(out.attentions):
            block = ref.encoder.layer[i]
            h = block.norm1(out.hidden_states[i])
            att = block.attention
            q_proj = att.q_proj if hasattr(att, "q_proj") else att.attention.query
            k_proj = att.k_proj if hasattr(att, "k_proj") else att.attention.key
            b, n, d = h.shape
            q = q_proj(h).view(b, n, heads, -1).transpose(1, 2)
            k = k_proj(h).view(b, n, heads, -1).transpose(1, 2)
            lg = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
            want = [(lg[0] - lg[1]).abs().softmax(-1).sum(-2), at.sum(-2)]
            for g, w in zip(got[2 * i:2 * i + 2], want):
                worst = max(worst, (g - w).abs().max().item())
    print(json.dumps({"check": "pair flows against recomputed logits", "max_abs_diff": worst}))
    assert worst < 1e-4, worst
    raise SystemExit(0)
if a.case == "pair":
    x = torch.randn(2, 3, a.size, a.size, device=a.device)
    work = lambda: pair(x)  # noqa: E731
else:
    x = torch.randn(8, 3, a.size, a.size, device=a.device)
    work = lambda: clip(x)  # noqa: E731
result = {
    "case": a.case,
    "size": a.size,
    f"pytorch_eager_{a.device}_ms": median_ms(work),
    "device": torch.cuda.get_device_name() if a.device == "cuda" else "cpu",
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
    "transformers": transformers.__version__,
}
print(json.dumps(result))
