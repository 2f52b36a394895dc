#!/usr/bin/env python3
"""PyTorch counterpart of `npm run bench -- lora`: a hand-written
Qwen2-style decoder (RMSNorm, rotary, grouped-query attention with q/k/v
biases, SwiGLU, tied embeddings; random weights) with LoRA (PEFT's
lora.Linear: y = base(x) + s·B(A(dropout(x)))) on q/k/v/o + MLP, frozen base
in float32 or in Q8_0 (int8 per block of 32 with a float scale, dequantized
in each forward, as a plain-torch QLoRA does without bitsandbytes). Times
forward + backward + AdamW on the adapters after one warm-up step.

usage: torch_lora.py '{"base":"f32"|"q8_0","layers":24,"vocab":151936,"batch":4,"seq":256,"r":16,"steps":2}'
prints one JSON line {"msPerStep","tokS","peakRssMB","trainable","total"}.
"""
import json
import math
import resource
import sys
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

job = json.loads(sys.argv[1])
torch.manual_seed(1)
# PyTorch counts physical cores (1 on a 2-vCPU machine); use every CPU, as muse's kernels do.
torch.set_num_threads(os.cpu_count() or 1)
C, I, H, KV, D = 896, 4864, 14, 2, 64
L, V, B, T, R = job['layers'], job['vocab'], job['batch'], job['seq'], job['r']
Q8 = job['base'] == 'q8_0'
CKPT = bool(job.get('gradientCheckpointing'))


class Frozen(nn.Module):
    def __init__(self, i, o, bias):
        super().__init__()
        w = torch.randn(o, i) * 0.02
        if Q8:
            blocks = w.view(o, i // 32, 32)
            d = blocks.abs().amax(-1, keepdim=True) / 127
            self.register_buffer('q', torch.round(blocks / d.clamp_min(1e-12)).to(torch.int8))
            self.register_buffer('d', d.to(torch.float16))
        else:
            self.register_buffer('w', w)
        self.register_buffer('b', torch.zeros(o) if bias else None)
        self.shape = (o, i)

    def weight(self):
        if Q8:
            return (self.q.float() * self.d.float()).view(*self.shape)
        return self.w

    def forward(self, x):
        return F.linear(x, self.weight(), self.b)


class LoraLinear(nn.Module):
    def __init__(self, i, o, bias=False):
        super().__init__()
        self.base = Frozen(i, o, bias)
        self.A = nn.Parameter(torch.empty(R, i))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(o, R))
        self.s = 2 * R / R
        self.drop = nn.Dropout(0.05)

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(self.drop(x), self.A), self.B) * self.s


def rms(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


inv = 1.0 / (1e6 ** (torch.arange(0, D, 2).float() / D))
ang = torch.arange(T).float()[:, None] * inv[None]
cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
causal = torch.full((T, T), float('-inf')).triu(1)


def rope(x):  # [B, h, T, D]
    h = D // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1 = nn.Parameter(torch.ones(C), requires_grad=False)
        self.n2 = nn.Parameter(torch.ones(C), requires_grad=False)
        self.q, self.k, self.v = LoraLinear(C, H * D, True), LoraLinear(C, KV * D, True), LoraLinear(C, KV * D, True)
        self.o = LoraLinear(H * D, C)
        self.g, self.u, self.dn = LoraLinear(C, I), LoraLinear(C, I), LoraLinear(I, C)

    def forward(self, x):
        h = rms(x, self.n1)
        q = rope(self.q(h).view(B, T, H, D).transpose(1, 2))
        k = rope(self.k(h).view(B, T, KV, D).transpose(1, 2)).repeat_interleave(H // KV, 1)
        v = self.v(h).view(B, T, KV, D).transpose(1, 2).repeat_interleave(H // KV, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(D) + causal
        a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + self.o(a)
        h = rms(x, self.n2)
        return x + self.dn(F.silu(self.g(h)) * self.u(h))


emb = nn.Parameter(torch.randn(V, C) * 0.02, requires_grad=False)
layers = nn.ModuleList([Layer() for _ in range(L)])
norm = torch.ones(C)
params = [p for p in layers.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
ids = torch.randint(0, V, (B, T))


def step():
    opt.zero_grad(set_to_none=True)
    x = emb[ids]
    for l in layers:
        # Non-reentrant: the first layer's input (a frozen embedding row) needs no grad, yet its adapters do.
        x = torch.utils.checkpoint.checkpoint(l, x, use_reentrant=False) if CKPT else l(x)
    logits = rms(x, norm) @ emb.T
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()
    opt.step()


step()
t0 = time.perf_counter()
for _ in range(job['steps']):
    step()
ms = (time.perf_counter() - t0) * 1000 / job['steps']
trainable = sum(p.numel() for p in params)
total = trainable + emb.numel() + sum(b.numel() for l in layers for n, b in l.named_buffers() if n.endswith(('.w', '.q', '.b')) and b is not None) + L * 2 * C + C
print(json.dumps({'msPerStep': ms, 'tokS': B * T * 1000 / ms, 'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'trainable': trainable, 'total': total}))
