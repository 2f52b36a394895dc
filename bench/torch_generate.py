#!/usr/bin/env python3
"""PyTorch reference for `npm run bench -- generate`: a GPT-2-style model
(the shape of bench/torch_train.py: learned positions, pre-LayerNorm, biases,
tanh GELU, tied lm_head) decoded with a KV cache, batch 1, temperature 0.8,
top-k 200 (clamped to the vocabulary), multinomial sampling, and muse's
sliding-window policy (when the cache is full, clear it and re-feed the last
`window_keep` tokens).

usage: torch_generate.py n_layer n_head n_embd n_positions vocab new_tokens window_keep
prints the best of three runs in tokens/s as the last stdout line, over 2 and
1 intra-op threads (whichever is faster on this machine at the moment: on a
busy 2-core machine a single thread often wins).
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

L, H, C, P, V, N, KEEP = (int(a) for a in sys.argv[1:8])
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

    def forward(self, x, cache):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(b, t, H, c // H).transpose(1, 2)
        k = k.view(b, t, H, c // H).transpose(1, 2)
        v = v.view(b, t, H, c // H).transpose(1, 2)
        if cache[0] is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        cache[0], cache[1] = k, v
        past = k.shape[2] - t
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // H))
        if t > 1:
            mask = torch.ones(t, past + t, dtype=torch.bool).tril(past)
            att = att.masked_fill(~mask, float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(P, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, start, caches):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(start, start + t))
        for blk, cache in zip(self.h, caches):
            x = blk(x, cache)
        return self.ln_f(x[:, -1, :]) @ self.wte.weight.t()


def run(model):
    tokens = [0]
    caches = [[None, None] for _ in range(L)]
    logits = model(torch.tensor([tokens]), 0, caches)
    length = 1
    for i in range(N):
        logits = logits / 0.8
        v, _ = torch.topk(logits, min(200, V))
        logits[logits < v[:, [-1]]] = -float("inf")
        nxt = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        tokens.append(int(nxt))
        if i == N - 1:
            break
        if length + 1 > P:
            caches = [[None, None] for _ in range(L)]
            window = tokens[-KEEP:]
            logits = model(torch.tensor([window]), 0, caches)
            length = len(window)
        else:
            logits = model(nxt, length, caches)
            length += 1
    return len(tokens) - 1


model = GPT().eval()
best = 0.0
with torch.inference_mode():
    for threads in (2, 1):
        torch.set_num_threads(threads)
        run(model)  # warm-up
        for _ in range(3):
            t0 = time.perf_counter()
            n = run(model)
            rate = n / (time.perf_counter() - t0)
            print(f"threads {threads}: {rate:.1f} tokens/s", file=sys.stderr)
            best = max(best, rate)
print(best)
