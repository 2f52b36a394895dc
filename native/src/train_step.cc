// GPT-2 training step, data-parallel over the batch (the organisation of
// llm.c's gpt2_forward / gpt2_backward, with the batch split in parts).
//
// Why data-parallel: the products of a small model (768×128·128×384 and the
// like) are too small to split well across threads — every kernel pays a
// fork/join and one thread waits at each barrier, so two threads ran the baby
// preset only 1.18× faster than one. Here each thread runs the whole forward
// and backward of its part of the batch with single-threaded kernels and its
// own gradient buffers; one barrier per call, then the parts' gradients are
// summed in a fixed order (deterministic for a given thread count).
//
// Same kernels and the same arithmetic per row as the op-by-op path
// (src/models/gpt-fused-train.ts); only the weight-gradient sums over rows are
// grouped by part. Checked in test/models/gpt-native-train.test.ts.
#include "train_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemm.h"
#include "kernels.h"
#include "train_common.h"

namespace muse {
namespace {

using namespace train;

/** Offsets (in floats) of every buffer inside GptTrainWorkspace::buf. */
struct Layout {
  i64 N, C, H, T, V, L;
  // per layer, relative to layer base
  i64 xin, h1, mean1, rstd1, qkvh, yh, lse, xmid, h2, mean2, rstd2, fc, g, perLayer;
  // globals, relative to globals base
  i64 xout, hf, meanf, rstdf, lseCE, dlogits, tmp3C, tmpC, tmpC2, tmp4C, heads, dresA, dresB, dxmid, dqkvh, rowScale,
      globals;
  explicit Layout(const GptTrainShape& s) {
    N = (i64)s.batch * s.t;
    C = s.nEmbd;
    H = s.nHead;
    T = s.t;
    V = s.vocab;
    L = s.nLayer;
    i64 o = 0;
    auto take = [&](i64 n) {
      i64 at = o;
      o += (n + 15) / 16 * 16;  // 64-byte alignment
      return at;
    };
    xin = take(N * C); h1 = take(N * C); mean1 = take(N); rstd1 = take(N);
    qkvh = take(3 * N * C); yh = take(N * C); lse = take(N * H);
    xmid = take(N * C); h2 = take(N * C); mean2 = take(N); rstd2 = take(N);
    fc = take(4 * N * C); g = take(4 * N * C);
    perLayer = o;
    o = 0;
    xout = take(N * C); hf = take(N * C); meanf = take(N); rstdf = take(N); lseCE = take(N);
    dlogits = take(N * V); tmp3C = take(3 * N * C); tmpC = take(N * C); tmpC2 = take(N * C); tmp4C = take(4 * N * C);
    heads = take(N * C); dresA = take(N * C); dresB = take(N * C); dxmid = take(N * C); dqkvh = take(3 * N * C);
    rowScale = take(N);
    globals = o;
  }
  i64 total() const { return perLayer * L + globals; }
};

/** Pointers of one layer's saved activations. */
struct LayerActs {
  float *xin, *h1, *mean1, *rstd1, *qkvh, *yh, *lse, *xmid, *h2, *mean2, *rstd2, *fc, *g;
};

struct Bufs {
  Layout lo;
  float* base;
  explicit Bufs(GptTrainWorkspace& ws) : lo(ws.shape), base(ws.buf.data()) {}
  LayerActs layer(i64 l) const {
    float* b = base + l * lo.perLayer;
    return {b + lo.xin, b + lo.h1, b + lo.mean1, b + lo.rstd1, b + lo.qkvh, b + lo.yh, b + lo.lse,
            b + lo.xmid, b + lo.h2, b + lo.mean2, b + lo.rstd2, b + lo.fc, b + lo.g};
  }
  float* g(i64 off) const { return base + lo.perLayer * lo.L + off; }
};

const float* mask_at(const GptTrainMasks& m, const GptTrainShape& s, int which /* -1 embd, 2l attn, 2l+1 mlp */) {
  if (!m.data) return nullptr;
  const i64 NC = (i64)s.batch * s.t * s.nEmbd;
  if (which < 0) return m.embd ? m.data : nullptr;
  if (!m.resid) return nullptr;
  return m.data + (m.embd ? NC : 0) + (i64)which * NC;
}

}  // namespace

GptTrainWorkspace::GptTrainWorkspace(const GptTrainShape& s)
    : capacity(s), shape(s), buf((size_t)Layout(s).total()) {}

bool GptTrainWorkspace::fits(const GptTrainShape& s) const {
  // Every buffer scales with batch·t, so a smaller product fits the same memory.
  return s.nLayer == capacity.nLayer && s.nHead == capacity.nHead && s.nEmbd == capacity.nEmbd &&
         s.vocab == capacity.vocab && s.nPositions == capacity.nPositions && s.eps == capacity.eps &&
         s.t <= s.nPositions && (i64)s.batch * s.t <= (i64)capacity.batch * capacity.t &&
         Layout(s).total() <= (i64)buf.size();
}

i64 gpt_train_forward(const GptWeights& w, GptTrainWorkspace& ws, const int32_t* ids, const int32_t* targets,
                      const GptTrainMasks& masks, float* logits, float* losses) {
  const GptTrainShape& s = ws.shape;
  const Bufs bf(ws);
  const int C = s.nEmbd, H = s.nHead, D = C / H, T = s.t, V = s.vocab;
  const float scale = 1.0f / std::sqrt((float)D);
  const int P = parts_for(s.batch);
  std::vector<i64> counts(P, 0);
  run_parts(P, [&](int p) {
    const Part q = part_of(s.batch, s.t, p, P);
    const int M = (int)q.M;
    const i64 r0 = q.r0;
    // x0 = wte[ids] + wpe[t] (· dropout mask)
    {
      float* x0 = bf.layer(0).xin;
      const float* me = mask_at(masks, s, -1);
      for (i64 r = r0; r < r0 + M; r++) {
        const float* te = w.wte + (i64)ids[r] * C;
        const float* pe = w.wpe + (r % T) * C;
        float* x = x0 + r * C;
#pragma omp simd
        for (int c = 0; c < C; c++) x[c] = te[c] + pe[c];
        if (me) {
          const float* mr = me + r * C;
#pragma omp simd
          for (int c = 0; c < C; c++) x[c] *= mr[c];
        }
      }
    }
    float* qkv = bf.g(bf.lo.tmp3C) + r0 * 3 * C;
    float* tmpC = bf.g(bf.lo.tmpC) + r0 * C;
    float* heads = bf.g(bf.lo.heads) + r0 * C;
    const AttnShape as{1, H, T, T, D, scale, true, nullptr};
    for (int l = 0; l < s.nLayer; l++) {
      const LayerActs a = bf.layer(l);
      const GptLayerWeights& lw = w.layers[l];
      float* xnext = l + 1 < s.nLayer ? bf.layer(l + 1).xin : bf.g(bf.lo.xout);
      layer_norm(a.xin + r0 * C, lw.ln1w, lw.ln1b, a.h1 + r0 * C, a.mean1 + r0, a.rstd1 + r0, M, C, s.eps);
      linear(a.h1 + r0 * C, lw.attnW, lw.attnB, qkv, M, C, 3 * C);
      for (int b = q.b0; b < q.b1; b++) {
        // [T, 3, H, D] rows → [3, H, T, D] of batch element b
        float* dst = a.qkvh + (i64)b * 3 * T * C;
        const float* src = qkv + (i64)(b - q.b0) * T * 3 * C;
        for (int t = 0; t < T; t++)
          for (int sh = 0; sh < 3 * H; sh++)
            copy_row(dst + ((i64)sh * T + t) * D, src + (i64)t * 3 * C + (i64)sh * D, D);
        const float* qb = dst;
        attention_forward(as, qb, qb + (i64)T * C, qb + 2 * (i64)T * C, a.yh + (i64)b * T * C, a.lse + (i64)b * H * T);
        merge_heads(a.yh + (i64)b * T * C, heads + (i64)(b - q.b0) * T * C, H, T, D);
      }
      linear(heads, lw.projW, lw.projB, tmpC, M, C, C);
      const float* ma = mask_at(masks, s, 2 * l);
      add_masked(a.xin + r0 * C, tmpC, ma ? ma + r0 * C : nullptr, a.xmid + r0 * C, (i64)M * C);
      layer_norm(a.xmid + r0 * C, lw.ln2w, lw.ln2b, a.h2 + r0 * C, a.mean2 + r0, a.rstd2 + r0, M, C, s.eps);
      linear(a.h2 + r0 * C, lw.fcW, lw.fcB, a.fc + r0 * 4 * C, M, C, 4 * C);
      unary(U_GELU_TANH, a.fc + r0 * 4 * C, a.g + r0 * 4 * C, (i64)M * 4 * C);
      linear(a.g + r0 * 4 * C, lw.fc2W, lw.fc2B, tmpC, M, 4 * C, C);
      const float* mm2 = mask_at(masks, s, 2 * l + 1);
      add_masked(a.xmid + r0 * C, tmpC, mm2 ? mm2 + r0 * C : nullptr, xnext + r0 * C, (i64)M * C);
    }
    float* hf = bf.g(bf.lo.hf) + r0 * C;
    layer_norm(bf.g(bf.lo.xout) + r0 * C, w.lnfW, w.lnfB, hf, bf.g(bf.lo.meanf) + r0, bf.g(bf.lo.rstdf) + r0, M, C,
               s.eps);
    mm(M, V, C, MatView{hf, C, 1}, MatView{w.wte, 1, C}, 0.0f, logits + r0 * V);
    counts[p] = cross_entropy(logits + r0 * V, targets + r0, losses + r0, bf.g(bf.lo.lseCE) + r0, M, V, -100, 0.0f);
  });
  i64 count = 0;
  for (i64 c : counts) count += c;
  return count;
}

void gpt_train_backward(const GptWeights& w, GptTrainWorkspace& ws, const int32_t* ids, const int32_t* targets,
                        const GptTrainMasks& masks, const float* logits, float gScale, float* const* grads,
                        bool accumulate) {
  const GptTrainShape& s = ws.shape;
  const Bufs bf(ws);
  const int C = s.nEmbd, H = s.nHead, D = C / H, T = s.t, V = s.vocab, L = s.nLayer;
  const float scale = 1.0f / std::sqrt((float)D);
  // Gradient sizes in the `grads` order.
  std::vector<i64> size = {(i64)V * C, (i64)s.nPositions * C, C, C};
  const i64 block[12] = {C, C, (i64)C * 3 * C, 3 * C, (i64)C * C, C, C, C, (i64)C * 4 * C, 4 * C, (i64)4 * C * C, C};
  for (int l = 0; l < L; l++)
    for (int j = 0; j < 12; j++) size.push_back(block[j]);
  std::vector<i64> off(size.size() + 1, 0);
  for (size_t i = 0; i < size.size(); i++) off[i + 1] = off[i] + size[i];
  const i64 total = off.back();

  const int P = parts_for(s.batch);
  // Part 0 writes straight into `grads` (unless adding to them); the others
  // into buffers of their own.
  const int first = accumulate ? 0 : 1;
  auto& pg = part_buffers(first, P, total);

  run_parts(P, [&](int p) {
    const Part q = part_of(s.batch, s.t, p, P);
    const int M = (int)q.M;
    const i64 r0 = q.r0;
    float* G = p >= first ? pg[p].data() : nullptr;
    auto gr = [&](size_t i) { return G ? G + off[i] : grads[i]; };
    // Only the gradients that kernels add into need zeros: wpe (scattered
    // rows) and the LayerNorm weights and biases. Products overwrite the
    // others, and dwte is the lm_head product before the embedding rows.
    auto zero = [&](size_t i) { std::fill(gr(i), gr(i) + size[i], 0.0f); };
    zero(1);
    zero(2);
    zero(3);
    for (int l = 0; l < L; l++)
      for (size_t j : {0, 1, 6, 7}) zero(4 + 12 * (size_t)l + j);
    float* rowScale = bf.g(bf.lo.rowScale) + r0;
    std::fill(rowScale, rowScale + M, gScale);
    float* dlogits = bf.g(bf.lo.dlogits) + r0 * V;
    cross_entropy_backward(logits + r0 * V, targets + r0, bf.g(bf.lo.lseCE) + r0, rowScale, dlogits, M, V, -100, 0.0f);
    float* hf = bf.g(bf.lo.hf) + r0 * C;
    float* tmpC = bf.g(bf.lo.tmpC) + r0 * C;
    float* tmpC2 = bf.g(bf.lo.tmpC2) + r0 * C;
    float* tmp3C = bf.g(bf.lo.tmp3C) + r0 * 3 * C;
    float* tmp4C = bf.g(bf.lo.tmp4C) + r0 * 4 * C;
    float* heads = bf.g(bf.lo.heads) + r0 * C;
    float* dxmid = bf.g(bf.lo.dxmid) + r0 * C;
    float* dresA = bf.g(bf.lo.dresA) + r0 * C;
    float* dresB = bf.g(bf.lo.dresB) + r0 * C;
    // Tied lm_head: dwte = dlogitsᵀ·hf, dhf = dlogits·wte.
    mm(V, C, M, MatView{dlogits, 1, V}, MatView{hf, C, 1}, 0.0f, gr(0));
    mm(M, C, V, MatView{dlogits, V, 1}, MatView{w.wte, C, 1}, 0.0f, tmpC2);
    float* dres = dresA;
    layer_norm_backward(tmpC2, bf.g(bf.lo.xout) + r0 * C, w.lnfW, bf.g(bf.lo.meanf) + r0, bf.g(bf.lo.rstdf) + r0, dres,
                        gr(2), gr(3), M, C);
    const AttnShape as{1, H, T, T, D, scale, true, nullptr};
    for (int l = L - 1; l >= 0; l--) {
      const LayerActs a = bf.layer(l);
      const GptLayerWeights& lw = w.layers[l];
      const size_t gi = 4 + 12 * (size_t)l;
      // MLP: xnext = xmid + c_proj(gelu(c_fc(ln_2(xmid)))) (· mask)
      const float* mmlp = mask_at(masks, s, 2 * l + 1);
      const float* dmlp = mmlp ? mul_into(dres, mmlp + r0 * C, heads, (i64)M * C) : dres;
      linear_backward(a.g + r0 * 4 * C, lw.fc2W, dmlp, gr(gi + 10), gr(gi + 11), tmp4C, M, 4 * C, C);
      unary_backward(U_GELU_TANH, a.fc + r0 * 4 * C, a.g + r0 * 4 * C, tmp4C, tmp4C, (i64)M * 4 * C);
      linear_backward(a.h2 + r0 * C, lw.fcW, tmp4C, gr(gi + 8), gr(gi + 9), tmpC, M, C, 4 * C);
      layer_norm_backward(tmpC, a.xmid + r0 * C, lw.ln2w, a.mean2 + r0, a.rstd2 + r0, tmpC2, gr(gi + 6), gr(gi + 7), M,
                          C);
      add_masked(dres, tmpC2, nullptr, dxmid, (i64)M * C);
      // Attention: xmid = xin + c_proj(merge(attn(split(c_attn(ln_1(xin)))))) (· mask)
      const float* mattn = mask_at(masks, s, 2 * l);
      const float* dattn = mattn ? mul_into(dxmid, mattn + r0 * C, heads, (i64)M * C) : dxmid;
      // The merged heads (c_proj's input) again, from the saved attention output.
      for (int b = q.b0; b < q.b1; b++) merge_heads(a.yh + (i64)b * T * C, tmpC2 + (i64)(b - q.b0) * T * C, H, T, D);
      linear_backward(tmpC2, lw.projW, dattn, gr(gi + 4), gr(gi + 5), tmpC, M, C, C);
      float* dqkvh = bf.g(bf.lo.dqkvh);
      for (int b = q.b0; b < q.b1; b++) {
        float* dyb = heads + (i64)(b - q.b0) * T * C;
        split_heads(tmpC + (i64)(b - q.b0) * T * C, dyb, H, T, D);
        const float* qb = a.qkvh + (i64)b * 3 * T * C;
        float* dqb = dqkvh + (i64)b * 3 * T * C;
        attention_backward(as, qb, qb + (i64)T * C, qb + 2 * (i64)T * C, a.yh + (i64)b * T * C, a.lse + (i64)b * H * T,
                           dyb, dqb, dqb + (i64)T * C, dqb + 2 * (i64)T * C);
        // [3, H, T, D] → rows [T, 3, H, D]
        float* dst = tmp3C + (i64)(b - q.b0) * T * 3 * C;
        for (int t = 0; t < T; t++)
          for (int sh = 0; sh < 3 * H; sh++)
            copy_row(dst + (i64)t * 3 * C + (i64)sh * D, dqb + ((i64)sh * T + t) * D, D);
      }
      linear_backward(a.h1 + r0 * C, lw.attnW, tmp3C, gr(gi + 2), gr(gi + 3), tmpC, M, C, 3 * C);
      layer_norm_backward(tmpC, a.xin + r0 * C, lw.ln1w, a.mean1 + r0, a.rstd1 + r0, tmpC2, gr(gi + 0), gr(gi + 1), M,
                          C);
      float* dxin = dres == dresA ? dresB : dresA;
      add_masked(dxmid, tmpC2, nullptr, dxin, (i64)M * C);
      dres = dxin;
    }
    // Embeddings: x0 = (wte[ids] + wpe[t]) · mask.
    const float* me = mask_at(masks, s, -1);
    float* dwte = gr(0);
    float* dwpe = gr(1);
    for (i64 i = 0; i < M; i++) {
      const i64 r = r0 + i;
      float* dr = dres + i * C;
      if (me) {
        const float* mr = me + r * C;
#pragma omp simd
        for (int c = 0; c < C; c++) dr[c] *= mr[c];
      }
      float* te = dwte + (i64)ids[r] * C;
      float* pe = dwpe + (r % T) * C;
#pragma omp simd
      for (int c = 0; c < C; c++) {
        te[c] += dr[c];
        pe[c] += dr[c];
      }
    }
  });

  // grads += Σ_{p ≥ first} part p's gradients, in part order.
  sum_part_grads(grads, off, pg, first, P);
}

}  // namespace muse
