// Gradient-check cases for the ops that wrap the fused kernels (attention, FFN, LayerNorm,
// embeddings) and for the group gate's path built from small ops. Tolerances as in
// autograd-cases.ts: relative to each tensor's peak, for f32 WASM against the f64 reference.
import { attentionParamSize, ffnParamSize } from "../src/kernels/kernels.js";
import { attention } from "../src/autograd/ops/attention.js";
import { concatCols } from "../src/autograd/ops/concat.js";
import { embedding, selectRows } from "../src/autograd/ops/embedding.js";
import { ffn } from "../src/autograd/ops/ffn.js";
import { layerNorm } from "../src/autograd/ops/layernorm.js";
import { linear } from "../src/autograd/ops/linear.js";
import { maskedMean } from "../src/autograd/ops/mean.js";
import { scale, scaleRows } from "../src/autograd/ops/scale.js";
import { bceLoss } from "../src/autograd/ops/bce.js";
import { softmaxRows } from "../src/autograd/ops/softmax.js";
import { add } from "../src/autograd/ops/add.js";
import { reshape } from "../src/autograd/ops/view.js";
import { defineCase, type GradCase } from "./autograd-harness.js";
import { randomMask, scaledNormal } from "./autograd-cases.js";

export const kernelCases: GradCase[] = [
  defineCase<{ n: number; big: number; noWeight: number }>({
    name: "bceLoss (weights as mask; large logits; no weight at all gives 0)",
    dims: { n: [1, 30], big: [0, 1], noWeight: [0, 1] },
    edge: [{ n: 1, big: 0, noWeight: 0 }, { n: 9, big: 1, noWeight: 0 }, { n: 5, big: 0, noWeight: 1 }],
    params: (d) => [{ name: "x", shape: [d.n], init: scaledNormal(d.big ? 60 : 2) }],
    build: (tp, p, d, rng) => {
      const labels = tp.constant(Array.from({ length: d.n }, () => (rng.next() < 0.5 ? 1 : 0)));
      const weights = tp.constant(Array.from({ length: d.n }, () => (d.noWeight ? 0 : rng.next() < 0.7 ? 1 : 0)));
      // a loss scaled afterwards checks that backward applies the incoming gradient
      return scale(tp, bceLoss(tp, p("x"), labels, weights), 3);
    },
    tol: { abs: 1e-7, rel: 1e-5 },
  }),
  defineCase<{ rows: number; d: number; big: number }>({
    name: "layerNorm",
    dims: { rows: [1, 6], d: [2, 12], big: [0, 1] },
    edge: [{ rows: 1, d: 2, big: 0 }, { rows: 3, d: 5, big: 0 }, { rows: 2, d: 48, big: 1 }],
    params: (d) => [
      { name: "x", shape: [d.rows, d.d], init: scaledNormal(d.big ? 100 : 1) },
      { name: "w", shape: [2 * d.d] },
    ],
    build: (tp, p) => layerNorm(tp, p("x"), p("w")),
    tol: { abs: 1e-6, rel: 1e-4 },
  }),
  defineCase<{ B: number; T: number; dh: number; heads: number; causal: number; allPad: number; shared: number }>({
    name: "attention (separate Q and K/V inputs, padding mask)",
    dims: { B: [1, 3], T: [1, 6], dh: [1, 4], heads: [1, 2], causal: [0, 1], allPad: [0, 1], shared: [0, 1] },
    edge: [
      { B: 1, T: 1, dh: 1, heads: 1, causal: 1, allPad: 0, shared: 0 },
      { B: 2, T: 1, dh: 3, heads: 1, causal: 1, allPad: 1, shared: 0 },
      { B: 2, T: 5, dh: 3, heads: 2, causal: 1, allPad: 1, shared: 0 },
      { B: 2, T: 5, dh: 4, heads: 1, causal: 0, allPad: 0, shared: 1 },
    ],
    params: (d) => [
      { name: "xq", shape: [d.B, d.T, d.dh * d.heads] },
      { name: "xkv", shape: [d.B, d.T, d.dh * d.heads] },
      { name: "w", shape: [attentionParamSize(d.dh * d.heads)], init: scaledNormal(0.5) },
    ],
    build: (tp, p, d, rng) => {
      const xq = p("xq");
      const xkv = d.shared ? xq : p("xkv");
      return attention(tp, xq, xkv, p("w"), randomMask(tp, rng, d.B, d.T, d.allPad), { heads: d.heads, causal: d.causal === 1 });
    },
    tol: { abs: 1e-6, rel: 1e-4 },
  }),
  defineCase<{ rows: number; d: number; dff: number; pct: number }>({
    name: "ffn (with and without dropout on the hidden layer)",
    dims: { rows: [1, 8], d: [1, 9], dff: [1, 9], pct: [0, 60] },
    edge: [{ rows: 1, d: 1, dff: 1, pct: 0 }, { rows: 5, d: 7, dff: 6, pct: 50 }, { rows: 3, d: 8, dff: 8, pct: 0 }],
    params: (d) => [
      { name: "x", shape: [d.rows, d.d] },
      { name: "w", shape: [ffnParamSize(d.d, d.dff)], init: scaledNormal(0.7) },
    ],
    build: (tp, p, d, rng) => ffn(tp, p("x"), p("w"), { dff: d.dff, dropout: { p: d.pct / 100, rng } }),
    tol: { abs: 1e-6, rel: 1e-4 },
  }),
  defineCase<{ n: number; fields: number; dim: number; vocab: number }>({
    name: "embedding (field gather; repeated indices add up)",
    dims: { n: [0, 10], fields: [1, 4], dim: [1, 6], vocab: [1, 5] },
    edge: [{ n: 1, fields: 1, dim: 1, vocab: 1 }, { n: 9, fields: 3, dim: 4, vocab: 2 }, { n: 0, fields: 2, dim: 3, vocab: 3 }],
    params: (d) => [{ name: "table", shape: [d.fields * d.vocab, d.dim] }],
    build: (tp, p, d, rng) => {
      // field f's rows start at f·vocab, as the model lays its tables out
      const idx = Array.from({ length: d.n * d.fields }, (_, k) => (k % d.fields) * d.vocab + rng.int(d.vocab));
      return embedding(tp, p("table"), tp.indices(idx, [d.n, d.fields]));
    },
    tol: { abs: 1e-6, rel: 1e-6 },
  }),
  defineCase<{ rows: number; cols: number; picks: number }>({
    name: "selectRows (pick positions)",
    dims: { rows: [1, 8], cols: [1, 6], picks: [0, 8] },
    edge: [{ rows: 1, cols: 1, picks: 1 }, { rows: 5, cols: 3, picks: 8 }],
    params: (d) => [{ name: "x", shape: [d.rows, d.cols] }],
    build: (tp, p, d, rng) => selectRows(tp, p("x"), tp.indices(Array.from({ length: d.picks }, () => rng.int(d.rows)))),
    tol: { abs: 1e-6, rel: 1e-6 },
  }),
  defineCase<{ B: number; T: number; d: number; du: number; allPad: number }>({
    // g = softmax(W_g [mean of X ; e_u] + b_g) over K = 4; out = g_k·FFN_k(X) + FFN_user(X), with
    // k fixed per sequence (the model picks argmax g without differentiating the choice)
    name: "group gate path (masked mean, concat, linear, softmax, select, scaleRows)",
    dims: { B: [1, 3], T: [1, 5], d: [1, 6], du: [1, 4], allPad: [0, 1] },
    edge: [{ B: 1, T: 1, d: 2, du: 1, allPad: 0 }, { B: 3, T: 4, d: 5, du: 3, allPad: 1 }],
    params: (d) => [
      { name: "x", shape: [d.B, d.T, d.d] },
      { name: "eu", shape: [d.B, d.du] },
      { name: "wg", shape: [d.d + d.du, 4] },
      { name: "bg", shape: [4] },
      { name: "wk", shape: [ffnParamSize(d.d, d.d)], init: scaledNormal(0.5) },
      { name: "wu", shape: [ffnParamSize(d.d, d.d)], init: scaledNormal(0.5) },
    ],
    build: (tp, p, d, rng) => {
      const mask = randomMask(tp, rng, d.B, d.T, d.allPad);
      const g = softmaxRows(tp, linear(tp, concatCols(tp, [maskedMean(tp, p("x"), mask), p("eu")]), p("wg"), p("bg")));
      const k = Array.from({ length: d.B }, () => rng.int(4));
      // one gate value per position: g[b, k_b] repeated over the sequence's T rows
      const pick = tp.indices(Array.from({ length: d.B * d.T }, (_, r) => Math.floor(r / d.T) * 4 + k[Math.floor(r / d.T)]!));
      const gk = selectRows(tp, reshape(tp, g, [d.B * 4, 1]), pick);
      const expert = ffn(tp, p("x"), p("wk"), { dff: d.d });
      return add(tp, scaleRows(tp, expert, gk), ffn(tp, p("x"), p("wu"), { dff: d.d }));
    },
    tol: { abs: 1e-6, rel: 1e-4 },
  }),
];
