// A whole two-block SASRec/MRFF-style Transformer built from the autograd ops, at small sizes so
// that finite differences stay affordable: field embeddings + positions, 2 × [Q = LN(H);
// H = Q + Attn(Q, H, H) (causal, padding mask); X = LN(H), padding zeroed; H = X + FFN(X), padding
// zeroed], final LN, the real positions taken, scorer MLP on [h_t ; target item ; e_u], BCE.
import { attentionParamSize, ffnParamSize } from "../src/kernels/kernels.js";
import { add, addBroadcast } from "../src/autograd/ops/add.js";
import { attention } from "../src/autograd/ops/attention.js";
import { bceLoss } from "../src/autograd/ops/bce.js";
import { concatCols } from "../src/autograd/ops/concat.js";
import { dropout } from "../src/autograd/ops/dropout.js";
import { embedding, selectRows } from "../src/autograd/ops/embedding.js";
import { ffn } from "../src/autograd/ops/ffn.js";
import { layerNorm } from "../src/autograd/ops/layernorm.js";
import { linear } from "../src/autograd/ops/linear.js";
import { maskRows } from "../src/autograd/ops/mask.js";
import { relu } from "../src/autograd/ops/relu.js";
import { constantInit, normalInit, segmentsInit, type Init } from "../src/autograd/init.js";
import { defineCase, type GradCase } from "./autograd-harness.js";

export interface StackDims {
  [k: string]: number;
  /** Sequences in the batch and their length. */
  B: number;
  T: number;
  /** Item fields, width of each field's embedding (d = F·dim), values per field. */
  F: number;
  dim: number;
  vocab: number;
  /** User fields (each `dim` wide). */
  U: number;
  /** Hidden width of the scorer MLP. */
  hidden: number;
  /** Sequence 0 is all padding when 1. */
  allPad: number;
  /** Dropout probability in percent (embeddings and FFN hidden layers). */
  pct: number;
}

const BLOCKS = 2;

/** LayerNorm gain 1 plus a little noise (so that dγ is not degenerate), bias small noise. */
const lnInit = (d: number): Init =>
  segmentsInit([
    [d, (rng, n) => Float64Array.from({ length: n }, () => 1 + 0.1 * rng.normal())],
    [d, normalInit(0.1)],
  ]);

export const stackCase: GradCase = defineCase<StackDims>({
  name: "two-block Transformer stack",
  dims: { B: [1, 3], T: [1, 6], F: [1, 3], dim: [1, 3], vocab: [1, 4], U: [1, 2], hidden: [1, 6], allPad: [0, 1], pct: [0, 30] },
  edge: [
    { B: 2, T: 5, F: 2, dim: 4, vocab: 5, U: 2, hidden: 8, allPad: 1, pct: 20 },
    { B: 2, T: 1, F: 2, dim: 2, vocab: 3, U: 1, hidden: 4, allPad: 0, pct: 0 },
    // nothing but padding: no position is scored, the loss is 0 and so is every gradient
    { B: 1, T: 3, F: 1, dim: 2, vocab: 2, U: 1, hidden: 2, allPad: 1, pct: 0 },
  ],
  params: (s) => {
    const d = s.F * s.dim;
    const blocks = Array.from({ length: BLOCKS }, (_, l) => [
      { name: `ln1.${l}`, shape: [2 * d], init: lnInit(d) },
      { name: `attn.${l}`, shape: [attentionParamSize(d)], init: normalInit(0.4) },
      { name: `ln2.${l}`, shape: [2 * d], init: lnInit(d) },
      { name: `ffn.${l}`, shape: [ffnParamSize(d, d)], init: normalInit(0.4), partition: "group" as const },
    ]).flat();
    return [
      { name: "items", shape: [s.F * s.vocab, s.dim] },
      { name: "pos", shape: [s.T, d], init: normalInit(0.5) },
      ...blocks,
      { name: "lnf", shape: [2 * d], init: lnInit(d) },
      { name: "users", shape: [s.U * s.vocab, s.dim], partition: "private" as const },
      { name: "w1", shape: [2 * d + s.U * s.dim, s.hidden], init: normalInit(0.5) },
      { name: "b1", shape: [s.hidden], init: constantInit(0.1) },
      { name: "w2", shape: [s.hidden, 1], init: normalInit(0.5) },
      { name: "b2", shape: [1] },
    ];
  },
  build: (tp, p, s, rng) => {
    const { B, T, F, vocab, U } = s;
    const d = F * s.dim;
    const drop = s.pct / 100;
    // left-padded sequences of 1..T real items; sequence 0 all padding when allPad
    const lens = Array.from({ length: B }, (_, b) => (s.allPad && b === 0 ? 0 : 1 + rng.int(T)));
    const maskV = Array.from({ length: B * T }, (_, k) => (k % T >= T - lens[Math.floor(k / T)]! ? 1 : 0));
    const mask = tp.constant(maskV, [B, T]);
    // field f of an item is row f·vocab + value (padding slots index real rows: they are masked)
    const itemIdx = (n: number) => Array.from({ length: n * F }, (_, k) => (k % F) * vocab + rng.int(vocab));
    let h = embedding(tp, p("items"), tp.indices(itemIdx(B * T), [B, T, F]));
    h = maskRows(tp, dropout(tp, addBroadcast(tp, h, p("pos")), drop, rng), mask);
    for (let l = 0; l < BLOCKS; l++) {
      const q = layerNorm(tp, h, p(`ln1.${l}`));
      h = add(tp, q, attention(tp, q, h, p(`attn.${l}`), mask, { heads: 1, causal: true }));
      const x = maskRows(tp, layerNorm(tp, h, p(`ln2.${l}`)), mask);
      h = maskRows(tp, add(tp, x, ffn(tp, x, p(`ffn.${l}`), { dff: d, dropout: { p: drop, rng } })), mask);
    }
    h = layerNorm(tp, h, p("lnf"));
    // every real position is scored against a target item, with its user's vector
    const real = maskV.flatMap((m, k) => (m ? [k] : []));
    const ht = selectRows(tp, h, tp.indices(real));
    const target = embedding(tp, p("items"), tp.indices(itemIdx(real.length), [real.length, F]));
    const userIdx = Array.from({ length: B * U }, (_, k) => (k % U) * vocab + rng.int(vocab));
    const users = embedding(tp, p("users"), tp.indices(userIdx, [B, U]));
    const eu = selectRows(tp, users, tp.indices(real.map((k) => Math.floor(k / T))));
    const z = relu(tp, linear(tp, concatCols(tp, [ht, target, eu]), p("w1"), p("b1")));
    const logits = linear(tp, z, p("w2"), p("b2"));
    const labels = tp.constant(real.map(() => (rng.next() < 0.5 ? 1 : 0)));
    return bceLoss(tp, logits, labels, tp.constant(real.map(() => 1)));
  },
  tol: { abs: 1e-6, rel: 2e-4 },
});
