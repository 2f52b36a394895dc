#!/usr/bin/env python3
"""An independent reference for issue 4's loss target: nanoGPT's baby
Shakespeare run (config/train_shakespeare_char.py with the README's CPU
overrides: n_layer 4, n_head 4, n_embd 128, block_size 64, batch_size 12,
dropout 0, max_iters = lr_decay_iters = 2000, eval_iters 20), written from
nanoGPT's description in PyTorch: its model (bias=False LayerNorm and Linear,
GELU, tied lm_head, N(0, 0.02) init with c_proj at 0.02/sqrt(2·n_layer)),
AdamW(0.9, 0.99) with weight decay 0.1 on 2-D tensors only, warmup 100 then
cosine from 1e-3 to 1e-4, clip 1.0, random windows from torch.randint.

usage: torch_nanogpt_baby.py TINYSHAKESPEARE SEED [THREADS]
prints one JSON line: the 20-batch validation estimate at iteration 2000 (as
nanoGPT reports it), the loss over the whole validation split (every
non-overlapping 64-character window), and the wall time.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

path, seed = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
torch.manual_seed(seed)
text = open(path, encoding="utf-8").read()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data))
train, val = data[:n], data[n:]
L, H, C, T, B, V = 4, 4, 128, 64, 12, len(chars)
iters, warmup, lr_max, lr_min = 2000, 100, 1e-3, 1e-4


class LayerNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(C))

    def forward(self, x):
        return F.layer_norm(x, (C,), self.weight, None, 1e-5)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = LayerNorm(), LayerNorm()
        self.c_attn = nn.Linear(C, 3 * C, bias=False)
        self.c_proj = nn.Linear(C, C, bias=False)
        self.c_fc = nn.Linear(C, 4 * C, bias=False)
        self.mlp_c_proj = nn.Linear(4 * C, C, bias=False)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, c // H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // H))
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(-1)
        x = x + self.c_proj((att @ v).transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = LayerNorm()
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L))

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.T
        return F.cross_entropy(logits.view(-1, V), targets.reshape(-1))


def batch(split):
    d = train if split == "train" else val
    ix = torch.randint(len(d) - T, (B,))
    return torch.stack([d[i : i + T] for i in ix]), torch.stack([d[i + 1 : i + 1 + T] for i in ix])


def lr_at(it):
    if it < warmup:
        return lr_max * (it + 1) / (warmup + 1)
    ratio = (it - warmup) / (iters - warmup)
    return lr_min + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr_max - lr_min)


model = GPT()
params = [p for p in model.parameters()]
opt = torch.optim.AdamW(
    [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
     {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
    lr=lr_max, betas=(0.9, 0.99))


@torch.no_grad()
def estimate(split):
    model.eval()
    out = torch.stack([model(*batch(split)) for _ in range(20)]).mean().item()
    model.train()
    return out


t0 = time.time()
est = None
for it in range(iters + 1):
    if it % 250 == 0 or it == iters:
        est = estimate("val")
        print(f"iter {it}: val {est:.4f}", file=sys.stderr, flush=True)
    if it == iters:
        break
    for g in opt.param_groups:
        g["lr"] = lr_at(it)
    loss = model(*batch("train"))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
wall = time.time() - t0
with torch.no_grad():
    model.eval()
    m = (len(val) - 1) // T
    x = val[: m * T].view(m, T)
    y = val[1 : m * T + 1].view(m, T)
    full = sum(model(x[i : i + 64], y[i : i + 64]).item() * len(x[i : i + 64]) for i in range(0, m, 64)) / m
print(json.dumps({"bench": "nanogpt-baby-reference", "seed": seed, "valEstimate20": round(est, 4), "valFullSplit": round(full, 4), "wallSeconds": round(wall, 1)}))
