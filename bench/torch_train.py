#!/usr/bin/env python3
"""PyTorch reference for `npm run bench -- train`: the same GPT-2-style model
(learned positions, pre-LayerNorm, biases, tanh GELU, tied lm_head) and the same
step (forward, cross-entropy, backward, clip 1.0, AdamW) as muse, on random
token batches of the preset's shape. nanoGPT's own model differs only in
detail (no biases by default); its measured figures are in the issue.

usage: torch_train.py n_layer n_head n_embd block batch vocab dropout iters
prints progress to stderr and the mean ms/iter as the last stdout line.
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

L, H, C, T, B, V = (int(a) for a in sys.argv[1:7])
dropout = float(sys.argv[7])
iters = int(sys.argv[8])
torch.set_num_threads(2)
torch.manual_seed(1337)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)
        self.drop = nn.Dropout(dropout)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(b, t, H, c // H).transpose(1, 2)
        k = k.view(b, t, H, c // H).transpose(1, 2)
        v = v.view(b, t, H, c // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // H))
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(-1)
        att = self.drop(att)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.drop(self.c_proj(y))
        return x + self.drop(self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.drop = nn.Dropout(dropout)

    def forward(self, idx, targets):
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(idx.shape[1])))
        for blk in self.h:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.T
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))


model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)


def step():
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


for _ in range(min(3, iters)):
    step()
t0 = time.perf_counter()
for i in range(iters):
    step()
ms = (time.perf_counter() - t0) / iters * 1e3
print(f"{ms:.3f}")
