// BERT masked-LM training step, data-parallel over the batch: the
// organisation of train_step.cc (GPT-2) for HF's BertForMaskedLM —
// embeddings with token types and a LayerNorm, post-LayerNorm layers with
// bidirectional attention over the unpadded keys, and the MLM head
// (transform + decoder tied to the word embeddings + bias) run on the
// labelled rows only: with 15–40% of positions masked, that is most of the
// head's cost (vocab × hidden per row) saved, with the same loss.
//
// Same kernels and the same arithmetic per row as the op-by-op autograd path
// of src/models/bert.ts; only the weight-gradient sums over rows are grouped
// by part. Checked in test/bert/bert-native-train.test.ts.
#include "bert_train_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemm.h"
#include "kernels.h"
#include "train_common.h"

namespace muse {
namespace {

using namespace train;

/** Offsets (in floats) of every buffer inside BertTrainWorkspace::buf. */
struct Layout {
  i64 N, C, H, I, V, L;
  // per layer, relative to the layer's base
  i64 xin, qkvh, yh, lse, s1, mean1, rstd1, h, fc, g, s2, mean2, rstd2, perLayer;
  // globals, relative to the globals' base
  i64 emb, meanE, rstdE, xout, hsel, tr, tg, hh, meanT, rstdT, lseCE, dlogits, tmp3C, tmpC, tmpC2, tmpI, heads, merged,
      dmask, dh, dresA, dresB, dqkvh, rowScale, globals;
  explicit Layout(const BertTrainShape& s) {
    N = (i64)s.batch * s.t;
    C = s.hidden;
    H = s.nHead;
    I = s.intermediate;
    V = s.vocab;
    L = s.nLayer;
    i64 o = 0;
    auto take = [&](i64 n) {
      i64 at = o;
      o += (n + 15) / 16 * 16;  // 64-byte alignment
      return at;
    };
    xin = take(N * C); qkvh = take(3 * N * C); yh = take(N * C); lse = take(N * H);
    s1 = take(N * C); mean1 = take(N); rstd1 = take(N); h = take(N * C);
    fc = take(N * I); g = take(N * I);
    s2 = take(N * C); mean2 = take(N); rstd2 = take(N);
    perLayer = o;
    o = 0;
    emb = take(N * C); meanE = take(N); rstdE = take(N); xout = take(N * C);
    hsel = take(N * C); tr = take(N * C); tg = take(N * C); hh = take(N * C); meanT = take(N); rstdT = take(N);
    lseCE = take(N); dlogits = take(N * V);
    tmp3C = take(3 * N * C); tmpC = take(N * C); tmpC2 = take(N * C); tmpI = take(N * I); heads = take(N * C);
    merged = take(N * C); dmask = take(N * C); dh = take(N * C); dresA = take(N * C); dresB = take(N * C);
    dqkvh = take(3 * N * C); rowScale = take(N);
    globals = o;
  }
  i64 total() const { return perLayer * L + globals; }
};

struct LayerActs {
  float *xin, *qkvh, *yh, *lse, *s1, *mean1, *rstd1, *h, *fc, *g, *s2, *mean2, *rstd2;
};

struct Bufs {
  Layout lo;
  float* base;
  explicit Bufs(BertTrainWorkspace& ws) : lo(ws.shape), base(ws.buf.data()) {}
  LayerActs layer(i64 l) const {
    float* b = base + l * lo.perLayer;
    return {b + lo.xin, b + lo.qkvh, b + lo.yh, b + lo.lse, b + lo.s1, b + lo.mean1, b + lo.rstd1,
            b + lo.h, b + lo.fc, b + lo.g, b + lo.s2, b + lo.mean2, b + lo.rstd2};
  }
  float* g(i64 off) const { return base + lo.perLayer * lo.L + off; }
};

/** Mask `which` (0 = embeddings, 1 + 2l = after attention.output.dense, 2 + 2l = after output.dense), or null. */
const float* mask_at(const BertTrainInputs& in, const BertTrainShape& s, int which) {
  if (!in.masks) return nullptr;
  return in.masks + (i64)which * s.batch * s.t * s.hidden;
}

/** [T, 3, H, D] rows (q | k | v blocks) ↔ [3, H, T, D] of one batch element. */
void rows_to_heads(const float* rows, float* dst, int T, int H, int D) {
  const i64 C3 = 3 * (i64)H * D;
  for (int t = 0; t < T; t++)
    for (int sh = 0; sh < 3 * H; sh++) copy_row(dst + ((i64)sh * T + t) * D, rows + t * C3 + (i64)sh * D, D);
}
void heads_to_rows(const float* src, float* rows, int T, int H, int D) {
  const i64 C3 = 3 * (i64)H * D;
  for (int t = 0; t < T; t++)
    for (int sh = 0; sh < 3 * H; sh++) copy_row(rows + t * C3 + (i64)sh * D, src + ((i64)sh * T + t) * D, D);
}

}  // namespace

std::vector<i64> bert_tensor_sizes(const BertTrainShape& s) {
  const i64 C = s.hidden, I = s.intermediate;
  std::vector<i64> size = {(i64)s.vocab * C, (i64)s.nPositions * C, (i64)s.typeVocab * C, C, C};
  const i64 layer[16] = {C * C, C, C * C, C, C * C, C, C * C, C, C, C, I * C, I, C * I, C, C, C};
  for (int l = 0; l < s.nLayer; l++)
    for (int j = 0; j < 16; j++) size.push_back(layer[j]);
  for (i64 n : {C * C, C, C, C, (i64)s.vocab}) size.push_back(n);
  return size;
}

BertTrainWorkspace::BertTrainWorkspace(const BertTrainShape& s)
    : capacity(s), shape(s), buf((size_t)Layout(s).total()), sel((size_t)s.batch * s.t),
      selTargets((size_t)s.batch * s.t) {}

bool BertTrainWorkspace::fits(const BertTrainShape& s) const {
  return s.sameModel(capacity) && s.t <= s.nPositions && (i64)s.batch * s.t <= (i64)capacity.batch * capacity.t &&
         Layout(s).total() <= (i64)buf.size();
}

i64 bert_train_forward(const BertWeights& w, BertTrainWorkspace& ws, const BertTrainInputs& in, float* logits,
                       float* losses) {
  const BertTrainShape& s = ws.shape;
  const Bufs bf(ws);
  const int C = s.hidden, H = s.nHead, D = C / H, T = s.t, V = s.vocab, I = s.intermediate;
  const float scale = 1.0f / std::sqrt((float)D);
  const int P = parts_for(s.batch);
  // The labelled rows, and where each part's start in the [count, …] outputs.
  ws.partOffset.assign(P + 1, 0);
  i64 k = 0;
  for (int p = 0; p < P; p++) {
    const Part q = part_of(s.batch, T, p, P);
    ws.partOffset[p] = k;
    for (i64 r = q.r0; r < q.r0 + q.M; r++)
      if (in.labels[r] != -100) {
        ws.sel[k] = (int32_t)r;
        ws.selTargets[k] = in.labels[r];
        k++;
      }
  }
  ws.partOffset[P] = k;
  ws.count = k;
  run_parts(P, [&](int p) {
    const Part q = part_of(s.batch, T, p, P);
    const int M = (int)q.M;
    const i64 r0 = q.r0;
    // emb = word[ids] + position[t] + tokenType[types]; x0 = LayerNorm(emb) (· mask)
    float* emb = bf.g(bf.lo.emb);
    for (i64 r = r0; r < r0 + M; r++) {
      const float* we = w.wordEmb + (i64)in.ids[r] * C;
      const float* pe = w.posEmb + (r % T) * C;
      const float* te = w.typeEmb + (in.tokenTypes ? (i64)in.tokenTypes[r] * C : 0);
      float* x = emb + r * C;
#pragma omp simd
      for (int c = 0; c < C; c++) x[c] = we[c] + pe[c] + te[c];
    }
    float* x0 = bf.layer(0).xin;
    layer_norm(emb + r0 * C, w.embLnW, w.embLnB, x0 + r0 * C, bf.g(bf.lo.meanE) + r0, bf.g(bf.lo.rstdE) + r0, M, C,
               s.eps);
    if (const float* me = mask_at(in, s, 0)) mul_into(x0 + r0 * C, me + r0 * C, x0 + r0 * C, (i64)M * C);
    float* qkv = bf.g(bf.lo.tmp3C) + r0 * 3 * C;
    float* tmpC = bf.g(bf.lo.tmpC) + r0 * C;
    float* heads = bf.g(bf.lo.heads) + r0 * C;
    for (int l = 0; l < s.nLayer; l++) {
      const LayerActs a = bf.layer(l);
      const BertLayerWeights& lw = w.layers[l];
      float* xnext = l + 1 < s.nLayer ? bf.layer(l + 1).xin : bf.g(bf.lo.xout);
      const float* x = a.xin + r0 * C;
      linear_t(x, C, lw.qW, lw.qB, qkv, 3 * C, M, C, C);
      linear_t(x, C, lw.kW, lw.kB, qkv + C, 3 * C, M, C, C);
      linear_t(x, C, lw.vW, lw.vB, qkv + 2 * C, 3 * C, M, C, C);
      for (int b = q.b0; b < q.b1; b++) {
        float* qb = a.qkvh + (i64)b * 3 * T * C;
        rows_to_heads(qkv + (i64)(b - q.b0) * T * 3 * C, qb, T, H, D);
        const AttnShape as{1, H, T, T, D, scale, false, in.attentionMask ? in.attentionMask + (i64)b * T : nullptr};
        attention_forward(as, qb, qb + (i64)T * C, qb + 2 * (i64)T * C, a.yh + (i64)b * T * C, a.lse + (i64)b * H * T);
        merge_heads(a.yh + (i64)b * T * C, heads + (i64)(b - q.b0) * T * C, H, T, D);
      }
      linear_t(heads, C, lw.aoW, lw.aoB, tmpC, C, M, C, C);
      const float* ma = mask_at(in, s, 1 + 2 * l);
      add_masked(x, tmpC, ma ? ma + r0 * C : nullptr, a.s1 + r0 * C, (i64)M * C);
      layer_norm(a.s1 + r0 * C, lw.ln1W, lw.ln1B, a.h + r0 * C, a.mean1 + r0, a.rstd1 + r0, M, C, s.eps);
      linear_t(a.h + r0 * C, C, lw.iW, lw.iB, a.fc + r0 * I, I, M, C, I);
      unary(s.act, a.fc + r0 * I, a.g + r0 * I, (i64)M * I);
      linear_t(a.g + r0 * I, I, lw.oW, lw.oB, tmpC, C, M, I, C);
      const float* mo = mask_at(in, s, 2 + 2 * l);
      add_masked(a.h + r0 * C, tmpC, mo ? mo + r0 * C : nullptr, a.s2 + r0 * C, (i64)M * C);
      layer_norm(a.s2 + r0 * C, lw.ln2W, lw.ln2B, xnext + r0 * C, a.mean2 + r0, a.rstd2 + r0, M, C, s.eps);
    }
    // The head, on this part's labelled rows.
    const i64 k0 = ws.partOffset[p];
    const int K = (int)(ws.partOffset[p + 1] - k0);
    if (K == 0) return;
    const float* xout = bf.g(bf.lo.xout);
    float* hsel = bf.g(bf.lo.hsel) + k0 * C;
    for (int i = 0; i < K; i++) copy_row(hsel + (i64)i * C, xout + (i64)ws.sel[k0 + i] * C, C);
    float* tr = bf.g(bf.lo.tr) + k0 * C;
    float* tg = bf.g(bf.lo.tg) + k0 * C;
    float* hh = bf.g(bf.lo.hh) + k0 * C;
    linear_t(hsel, C, w.tW, w.tB, tr, C, K, C, C);
    unary(s.act, tr, tg, (i64)K * C);
    layer_norm(tg, w.tLnW, w.tLnB, hh, bf.g(bf.lo.meanT) + k0, bf.g(bf.lo.rstdT) + k0, K, C, s.eps);
    linear_t(hh, C, w.wordEmb, w.decBias, logits + k0 * V, V, K, C, V);
    cross_entropy(logits + k0 * V, ws.selTargets.data() + k0, losses + k0, bf.g(bf.lo.lseCE) + k0, K, V, -100, 0.0f);
  });
  return ws.count;
}

void bert_train_backward(const BertWeights& w, BertTrainWorkspace& ws, const BertTrainInputs& in,
                         const float* logits, float gScale, float* const* grads, bool accumulate) {
  const BertTrainShape& s = ws.shape;
  const Bufs bf(ws);
  const int C = s.hidden, H = s.nHead, D = C / H, T = s.t, V = s.vocab, I = s.intermediate, L = s.nLayer;
  const float scale = 1.0f / std::sqrt((float)D);
  const std::vector<i64> size = bert_tensor_sizes(s);
  std::vector<i64> off(size.size() + 1, 0);
  for (size_t i = 0; i < size.size(); i++) off[i + 1] = off[i] + size[i];
  const size_t head = 5 + 16 * (size_t)L;  // index of transform.dense.weight

  const int P = parts_for(s.batch);
  const int first = accumulate ? 0 : 1;
  auto& pg = part_buffers(first, P, off.back());

  run_parts(P, [&](int p) {
    const Part q = part_of(s.batch, T, p, P);
    const int M = (int)q.M;
    const i64 r0 = q.r0;
    float* G = p >= first ? pg[p].data() : nullptr;
    auto gr = [&](size_t i) { return G ? G + off[i] : grads[i]; };
    auto zero = [&](size_t i) { std::fill(gr(i), gr(i) + size[i], 0.0f); };
    // Zeros for the gradients that kernels add into: the scattered embedding
    // rows and every LayerNorm's weight and bias. Products overwrite the rest.
    for (size_t i : {(size_t)1, (size_t)2, (size_t)3, (size_t)4, head + 2, head + 3}) zero(i);
    for (int l = 0; l < L; l++)
      for (size_t j : {8, 9, 14, 15}) zero(5 + 16 * (size_t)l + j);
    float* tmpC = bf.g(bf.lo.tmpC) + r0 * C;
    float* tmpC2 = bf.g(bf.lo.tmpC2) + r0 * C;
    float* tmp3C = bf.g(bf.lo.tmp3C) + r0 * 3 * C;
    float* tmpI = bf.g(bf.lo.tmpI) + r0 * I;
    float* heads = bf.g(bf.lo.heads) + r0 * C;
    float* merged = bf.g(bf.lo.merged) + r0 * C;
    float* dmask = bf.g(bf.lo.dmask) + r0 * C;
    float* dh = bf.g(bf.lo.dh) + r0 * C;
    float* dresA = bf.g(bf.lo.dresA) + r0 * C;
    float* dresB = bf.g(bf.lo.dresB) + r0 * C;
    float* dres = dresA;
    std::fill(dres, dres + (i64)M * C, 0.0f);

    // MLM head on the labelled rows; dres receives dL/d(encoder output) there.
    const i64 k0 = ws.partOffset[p];
    const int K = (int)(ws.partOffset[p + 1] - k0);
    float* dlogits = bf.g(bf.lo.dlogits) + k0 * V;
    float* rowScale = bf.g(bf.lo.rowScale) + k0;
    std::fill(rowScale, rowScale + K, gScale);
    cross_entropy_backward(logits + k0 * V, ws.selTargets.data() + k0, bf.g(bf.lo.lseCE) + k0, rowScale, dlogits, K, V,
                           -100, 0.0f);
    // Decoder: logits = hh·wordEmbᵀ + bias (with K = 0 the products write zeros).
    float* dbias = gr(head + 4);
    std::fill(dbias, dbias + V, 0.0f);
    for (int i = 0; i < K; i++) {
      const float* d = dlogits + (i64)i * V;
#pragma omp simd
      for (int j = 0; j < V; j++) dbias[j] += d[j];
    }
    const float* hh = bf.g(bf.lo.hh) + k0 * C;
    const float* hsel = bf.g(bf.lo.hsel) + k0 * C;
    const float* tr = bf.g(bf.lo.tr) + k0 * C;
    const float* tg = bf.g(bf.lo.tg) + k0 * C;
    float* dK1 = tmpC;  // [K, C] scratch (K ≤ M)
    float* dK2 = tmpC2;
    mm(V, C, K, MatView{dlogits, 1, V}, MatView{hh, C, 1}, 0.0f, gr(0));
    mm(K, C, V, MatView{dlogits, V, 1}, MatView{w.wordEmb, C, 1}, 0.0f, dK1);
    layer_norm_backward(dK1, tg, w.tLnW, bf.g(bf.lo.meanT) + k0, bf.g(bf.lo.rstdT) + k0, dK2, gr(head + 2),
                        gr(head + 3), K, C);
    unary_backward(s.act, tr, tg, dK2, dK2, (i64)K * C);
    linear_t_backward(hsel, C, w.tW, dK2, C, gr(head), gr(head + 1), dK1, K, C, C, false);
    for (int i = 0; i < K; i++) copy_row(dres + ((i64)ws.sel[k0 + i] - r0) * C, dK1 + (i64)i * C, C);

    for (int l = L - 1; l >= 0; l--) {
      const LayerActs a = bf.layer(l);
      const BertLayerWeights& lw = w.layers[l];
      const size_t gi = 5 + 16 * (size_t)l;
      // x_next = LN2(s2), s2 = h + drop(g·oWᵀ + oB), g = act(h·iWᵀ + iB)
      layer_norm_backward(dres, a.s2 + r0 * C, lw.ln2W, a.mean2 + r0, a.rstd2 + r0, tmpC2, gr(gi + 14), gr(gi + 15), M,
                          C);
      const float* mo = mask_at(in, s, 2 + 2 * l);
      const float* dout = mo ? mul_into(tmpC2, mo + r0 * C, dmask, (i64)M * C) : tmpC2;
      linear_t_backward(a.g + r0 * I, I, lw.oW, dout, C, gr(gi + 12), gr(gi + 13), tmpI, M, I, C, false);
      unary_backward(s.act, a.fc + r0 * I, a.g + r0 * I, tmpI, tmpI, (i64)M * I);
      linear_t_backward(a.h + r0 * C, C, lw.iW, tmpI, I, gr(gi + 10), gr(gi + 11), tmpC, M, C, I, false);
      add_masked(tmpC2, tmpC, nullptr, dh, (i64)M * C);
      // h = LN1(s1), s1 = x + drop(merge(attn(q, k, v))·aoWᵀ + aoB)
      layer_norm_backward(dh, a.s1 + r0 * C, lw.ln1W, a.mean1 + r0, a.rstd1 + r0, tmpC2, gr(gi + 8), gr(gi + 9), M, C);
      const float* ma = mask_at(in, s, 1 + 2 * l);
      const float* dao = ma ? mul_into(tmpC2, ma + r0 * C, dmask, (i64)M * C) : tmpC2;
      for (int b = q.b0; b < q.b1; b++) merge_heads(a.yh + (i64)b * T * C, merged + (i64)(b - q.b0) * T * C, H, T, D);
      linear_t_backward(merged, C, lw.aoW, dao, C, gr(gi + 6), gr(gi + 7), tmpC, M, C, C, false);
      float* dqkvh = bf.g(bf.lo.dqkvh);
      for (int b = q.b0; b < q.b1; b++) {
        float* dyb = heads + (i64)(b - q.b0) * T * C;
        split_heads(tmpC + (i64)(b - q.b0) * T * C, dyb, H, T, D);
        const float* qb = a.qkvh + (i64)b * 3 * T * C;
        float* dqb = dqkvh + (i64)b * 3 * T * C;
        const AttnShape as{1, H, T, T, D, scale, false, in.attentionMask ? in.attentionMask + (i64)b * T : nullptr};
        attention_backward(as, qb, qb + (i64)T * C, qb + 2 * (i64)T * C, a.yh + (i64)b * T * C, a.lse + (i64)b * H * T,
                           dyb, dqb, dqb + (i64)T * C, dqb + 2 * (i64)T * C);
        heads_to_rows(dqb, tmp3C + (i64)(b - q.b0) * T * 3 * C, T, H, D);
      }
      float* dxin = dres == dresA ? dresB : dresA;
      const float* x = a.xin + r0 * C;
      linear_t_backward(x, C, lw.qW, tmp3C, 3 * C, gr(gi + 0), gr(gi + 1), dxin, M, C, C, false);
      linear_t_backward(x, C, lw.kW, tmp3C + C, 3 * C, gr(gi + 2), gr(gi + 3), dxin, M, C, C, true);
      linear_t_backward(x, C, lw.vW, tmp3C + 2 * C, 3 * C, gr(gi + 4), gr(gi + 5), dxin, M, C, C, true);
      add_masked(dxin, tmpC2, nullptr, dxin, (i64)M * C);  // + the residual path
      dres = dxin;
    }
    // x0 = LayerNorm(emb) (· mask), emb = word[ids] + position[t] + tokenType[types]
    if (const float* me = mask_at(in, s, 0)) mul_into(dres, me + r0 * C, dres, (i64)M * C);
    layer_norm_backward(dres, bf.g(bf.lo.emb) + r0 * C, w.embLnW, bf.g(bf.lo.meanE) + r0, bf.g(bf.lo.rstdE) + r0, tmpC,
                        gr(3), gr(4), M, C);
    float* dword = gr(0);
    float* dpos = gr(1);
    float* dtype = gr(2);
    for (i64 i = 0; i < M; i++) {
      const i64 r = r0 + i;
      const float* dr = tmpC + i * C;
      float* we = dword + (i64)in.ids[r] * C;
      float* pe = dpos + (r % T) * C;
      float* te = dtype + (in.tokenTypes ? (i64)in.tokenTypes[r] * C : 0);
#pragma omp simd
      for (int c = 0; c < C; c++) {
        we[c] += dr[c];
        pe[c] += dr[c];
        te[c] += dr[c];
      }
    }
  });
  sum_part_grads(grads, off, pg, first, P);
}

}  // namespace muse
