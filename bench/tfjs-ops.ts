// The same maths as each op-table entry, written with TensorFlow.js ops, keyed by op name. Ops
// with no reasonable TensorFlow.js equivalent are absent and the benchmark says so. Backward
// passes use tf.grads over the forward maths, seeded with the op's gradient seed: what a
// TensorFlow.js model training the same layer would run. Where TensorFlow.js has a fused kernel
// (matMul + bias + ReLU) it is used, so that the comparison is with TensorFlow.js at its best.
import type { Tensor } from "@tensorflow/tfjs-core";
import { ADAM_HYPER } from "../src/kernels/ops/adam.js";
import type { Dims } from "../src/kernels/ops/registry.js";
import type { Tf } from "./tfjs.js";

/** Where an input's values come from: op tensor `from` (default: the input's own name), from `at`. */
export interface TfInput {
  shape: number[];
  from?: string;
  at?: number;
  dtype?: "int32";
}

export interface TfjsSpec {
  inputs: Record<string, TfInput>;
  /** Tensors derived once from the inputs, outside the timed work (e.g. an attention mask bias). */
  constants?(x: Record<string, Tensor>): Record<string, Tensor>;
  /** The forward maths; returns outputs named as the op's output tensors ("result": the scalar). */
  forward(x: Record<string, Tensor>): Record<string, Tensor>;
  /** Inputs the fwd+bwd phase differentiates (the op's `grad.wrt`, parameter groups split up). */
  wrt?: string[];
  /** Absolute difference from our outputs that f32 arithmetic explains (the check's default is 1e-3 of the peak). */
  checkAbs?: number;
}

export type TfjsOp = (tf: Tf, d: Dims) => TfjsSpec;

/** Ops whose backward TensorFlow.js's wasm backend cannot run, and why. */
export const TFJS_NO_BACKWARD: Record<string, string> = {
  embedding_gather: "the gradient of tf.gather needs UnsortedSegmentSum, which the wasm backend lacks",
};

function gemm(transposeA: boolean, transposeB: boolean): TfjsOp {
  return (tf, d) => ({
    inputs: {
      a: { shape: transposeA ? [d.K!, d.M!] : [d.M!, d.K!] },
      b: { shape: transposeB ? [d.N!, d.K!] : [d.K!, d.N!] },
      c: { shape: [d.M!, d.N!] },
    },
    forward: (x) => {
      const ab = tf.matMul(x.a!, x.b!, transposeA, transposeB);
      return { c: d.acc ? tf.add(x.c!, ab) : ab };
    },
  });
}

/** w = [Wq | Wk | Wv | Wo | bq | bk | bv | bo] (kernels.ts), as separate tensors. */
function attentionParams(dm: number): Record<string, TfInput> {
  const p: Record<string, TfInput> = {};
  ["Wq", "Wk", "Wv", "Wo"].forEach((n, k) => (p[n] = { shape: [dm, dm], from: "w", at: k * dm * dm }));
  ["bq", "bk", "bv", "bo"].forEach((n, k) => (p[n] = { shape: [dm], from: "w", at: 4 * dm * dm + k * dm }));
  return p;
}

const attention: TfjsOp = (tf, d) => {
  const { B, T, heads } = d as { B: number; T: number; heads: number };
  const dm = d.d!;
  const dh = dm / heads;
  // [B·T, d] -> [B, heads, T, dh] (a reshape only, when there is one head)
  const split = (t: Tensor) => (heads === 1 ? tf.reshape(t, [B, 1, T, dh]) : tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3]));
  const merge = (t: Tensor) => (heads === 1 ? tf.reshape(t, [B * T, dm]) : tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [B * T, dm]));
  return {
    inputs: { xq: { shape: [B * T, dm] }, xkv: { shape: [B * T, dm] }, mask: { shape: [B, 1, 1, T] }, ...attentionParams(dm) },
    // additive score bias: −1e9 where key s is padding or (causal) s > t
    constants: (x) => {
      let allowed = tf.greater(x.mask!, 0.5);
      if (d.causal) allowed = tf.logicalAnd(allowed, tf.cast(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), "bool"));
      return { bias: tf.where(allowed, tf.zeros([1]), tf.fill([1], -1e9)) };
    },
    forward: (x) => {
      const q = split(tf.fused.matMul({ a: x.xq!, b: x.Wq!, bias: x.bq }));
      const k = split(tf.fused.matMul({ a: x.xkv!, b: x.Wk!, bias: x.bk }));
      const v = split(tf.fused.matMul({ a: x.xkv!, b: x.Wv!, bias: x.bv }));
      const s = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), x.bias!);
      const ctx = merge(tf.matMul(tf.softmax(s), v));
      return { out: tf.fused.matMul({ a: ctx, b: x.Wo!, bias: x.bo }) };
    },
    wrt: ["xq", "xkv", "Wq", "Wk", "Wv", "Wo", "bq", "bk", "bv", "bo"],
  };
};

const ffn: TfjsOp = (tf, d) => {
  const { rows, dff } = d as { rows: number; dff: number };
  const dm = d.d!;
  return {
    inputs: {
      x: { shape: [rows, dm] },
      // w = [W1 d×dff | b1 dff | W2 dff×d | b2 d]
      W1: { shape: [dm, dff], from: "w" },
      b1: { shape: [dff], from: "w", at: dm * dff },
      W2: { shape: [dff, dm], from: "w", at: dm * dff + dff },
      b2: { shape: [dm], from: "w", at: 2 * dm * dff + dff },
      ...(d.drop ? { drop: { shape: [rows, dff] } } : {}),
    },
    forward: (x) => {
      let h = tf.fused.matMul({ a: x.x!, b: x.W1!, bias: x.b1, activation: "relu" });
      if (x.drop) h = tf.mul(h, x.drop);
      return { y: tf.fused.matMul({ a: h, b: x.W2!, bias: x.b2 }) };
    },
    wrt: ["x", "W1", "b1", "W2", "b2"],
  };
};

const layernorm: TfjsOp = (tf, d) => ({
  inputs: { x: { shape: [d.rows!, d.d!] }, gamma: { shape: [d.d!], from: "w" }, beta: { shape: [d.d!], from: "w", at: d.d! } },
  forward: (x) => {
    const { mean, variance } = tf.moments(x.x!, -1, true);
    const xhat = tf.mul(tf.sub(x.x!, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    return { y: tf.add(tf.mul(xhat, x.gamma!), x.beta!) };
  },
  wrt: ["x", "gamma", "beta"],
});

const adam: TfjsOp = (tf, d) => {
  const n = d.n!;
  const h = ADAM_HYPER;
  return {
    inputs: { p: { shape: [n] }, g: { shape: [d.steps!, n] }, m: { shape: [n] }, v: { shape: [n] } },
    forward: (x) => {
      let { p, m, v } = x as { p: Tensor; m: Tensor; v: Tensor };
      const start = d.fresh ? 1 : d.start!;
      for (let s = 0; s < d.steps!; s++) {
        const g = tf.reshape(tf.slice(x.g!, [s, 0], [1, n]), [n]);
        const t = start + s;
        m = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
        v = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
        const mhat = tf.div(m, 1 - h.beta1 ** t);
        const vhat = tf.div(v, 1 - h.beta2 ** t);
        const step = tf.add(tf.div(mhat, tf.add(tf.sqrt(vhat), h.eps)), tf.mul(p, h.weightDecay));
        p = tf.sub(p, tf.mul(step, h.lr));
      }
      return { p, m, v };
    },
  };
};

const vec = (d: Dims): TfInput => ({ shape: [d.n!] });
const bceInputs = (d: Dims) => ({ logits: vec(d), labels: vec(d), weights: vec(d) });
const mat = (d: Dims): TfInput => ({ shape: [d.rows!, d.cols!] });
const embeddingRows = (d: Dims) => d.n! * d.fields!;

export const TFJS_OPS: Record<string, TfjsOp> = {
  gemm_ab: gemm(false, false),
  gemm_abt: gemm(false, true),
  gemm_atb: gemm(true, false),
  attention,
  ffn,
  layernorm,
  adam_step: adam,

  bce: (tf, d) => ({
    inputs: bceInputs(d),
    // Σ w·(max(x, 0) − x·y + log(1 + e^−|x|)) / Σ w
    forward: (x) => {
      const { logits: z, labels: y, weights: w } = x as Record<string, Tensor>;
      const l = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
      return { loss: tf.reshape(tf.div(tf.sum(tf.mul(w, l)), tf.sum(w)), [1]) };
    },
    wrt: ["logits"],
  }),
  bce_backward: (tf, d) => ({
    inputs: { ...bceInputs(d), dlogits: vec(d) },
    forward: (x) => {
      const { logits: z, labels: y, weights: w } = x as Record<string, Tensor>;
      const g = tf.div(tf.mul(w, tf.sub(tf.sigmoid(z), y)), tf.sum(w));
      return { dlogits: tf.add(x.dlogits!, tf.mul(g, 0.75)) };
    },
  }),

  embedding_gather: (tf, d) => ({
    inputs: { table: { shape: [d.rows!, d.dim!] }, idx: { shape: [embeddingRows(d)], dtype: "int32" } },
    forward: (x) => ({ out: tf.gather(x.table!, x.idx!) }),
    wrt: ["table"],
  }),
  embedding_scatter_add: (tf, d) => ({
    inputs: {
      dout: { shape: [embeddingRows(d), d.dim!] },
      idx: { shape: [embeddingRows(d), 1], dtype: "int32" },
      dtable: { shape: [d.rows!, d.dim!] },
    },
    // scatterND adds the updates of repeated indices
    forward: (x) => ({ dtable: tf.add(x.dtable!, tf.scatterND(x.idx!, x.dout!, [d.rows!, d.dim!])) }),
  }),

  axpy: (tf, d) => ({ inputs: { y: vec(d), x: vec(d) }, forward: (x) => ({ y: tf.add(x.y!, tf.mul(x.x!, 0.75)) }) }),
  scale: (tf, d) => ({ inputs: { x: vec(d) }, forward: (x) => ({ x: tf.mul(x.x!, -1.5) }) }),
  weighted_sum: (tf, d) => ({
    // the buffers as rows of one matrix: out = weights · xs
    inputs: { xs: { shape: [d.count!, d.n!] }, weights: { shape: [1, d.count!] } },
    forward: (x) => ({ out: tf.reshape(tf.matMul(x.weights!, x.xs!), [d.n!]) }),
  }),
  l2_norm: (tf, d) => ({ inputs: { x: vec(d) }, forward: (x) => ({ result: tf.norm(x.x!) }) }),
  clip_by_norm: (tf, d) => ({
    inputs: { x: vec(d) },
    forward: (x) => {
      const norm = tf.norm(x.x!);
      return { x: tf.mul(x.x!, tf.minimum(1, tf.div(d.limit!, norm))), result: norm };
    },
  }),
  non_finite_index: (tf, d) => ({
    inputs: { x: vec(d) },
    forward: (x) => {
      const bad = tf.logicalNot(tf.isFinite(x.x!));
      return { result: tf.where(tf.any(bad), tf.argMax(tf.cast(bad, "int32")), tf.scalar(-1, "int32")) };
    },
  }),

  delta: (tf, d) => ({ inputs: { next: vec(d), prev: vec(d) }, forward: (x) => ({ out: tf.sub(x.next!, x.prev!) }) }),
  topk_select: (tf, d) => {
    const n = d.n!;
    const k = Math.min(d.k!, n);
    return {
      inputs: { x: vec(d), residual: vec(d) },
      forward: (x) => {
        const u = tf.add(x.x!, x.residual!);
        const byMagnitude = tf.topk(tf.abs(u), k).indices;
        // indices ascending, as the kernel writes them
        const idx = tf.cast(tf.neg(tf.topk(tf.neg(tf.cast(byMagnitude, "float32")), k).values), "int32");
        const kept = tf.scatterND(tf.reshape(idx, [k, 1]), tf.ones([k]), [n]);
        return { outIdx: idx, outVal: tf.gather(u, idx), residual: tf.mul(u, tf.sub(1, kept)) };
      },
    };
  },
  quantize_int8: (tf, d) => {
    const { n, block } = d as { n: number; block: number };
    const blocks = Math.ceil(n / block);
    return {
      inputs: { x: vec(d) },
      // the kernel rounds the exact quotient x/scale (divided in f64); TensorFlow.js divides in
      // f32, whose quotient lands on a half, and so one code away, about once in 10⁵ values
      checkAbs: 1,
      forward: (x) => {
        const xb = tf.reshape(tf.pad(x.x!, [[0, blocks * block - n]]), [blocks, block]);
        const scales = tf.div(tf.max(tf.abs(xb), 1, true), 127);
        // an all-zero block has scale 0 and codes 0
        const q = tf.where(tf.greater(scales, 0), tf.clipByValue(tf.round(tf.div(xb, scales)), -127, 127), tf.zerosLike(xb));
        return { q: tf.slice(tf.reshape(tf.cast(q, "int32"), [blocks * block]), 0, n), scales: tf.reshape(scales, [blocks]) };
      },
    };
  },
  dequantize_int8: (tf, d) => {
    const { n, block } = d as { n: number; block: number };
    const blocks = Math.ceil(n / block);
    return {
      // TensorFlow.js has no int8 tensors: the codes come as floats
      inputs: { q: vec(d), scales: { shape: [blocks, 1] } },
      forward: (x) => {
        const qb = tf.reshape(tf.pad(x.q!, [[0, blocks * block - n]]), [blocks, block]);
        return { out: tf.slice(tf.reshape(tf.mul(qb, x.scales!), [blocks * block]), 0, n) };
      },
    };
  },

  add: (tf, d) => ({ inputs: { a: vec(d), b: vec(d) }, forward: (x) => ({ out: tf.add(x.a!, x.b!) }) }),
  add_in_place: (tf, d) => ({ inputs: { a: vec(d), b: vec(d) }, forward: (x) => ({ a: tf.add(x.a!, x.b!) }) }),
  mul: (tf, d) => ({ inputs: { a: vec(d), b: vec(d) }, forward: (x) => ({ out: tf.mul(x.a!, x.b!) }) }),
  mul_in_place: (tf, d) => ({ inputs: { a: vec(d), b: vec(d) }, forward: (x) => ({ b: tf.mul(x.a!, x.b!) }) }),
  mul_row_mask: (tf, d) => ({
    inputs: { x: mat(d), mask: { shape: [d.rows!, 1] } },
    forward: (x) => ({ x: tf.mul(x.x!, x.mask!) }),
  }),
  add_row_vector: (tf, d) => ({
    inputs: { y: mat(d), b: { shape: [d.cols!] } },
    forward: (x) => ({ y: tf.add(x.y!, x.b!) }),
    wrt: ["b"],
  }),
  col_sum_acc: (tf, d) => ({
    inputs: { x: mat(d), out: { shape: [d.cols!] } },
    forward: (x) => ({ out: tf.add(x.out!, tf.sum(x.x!, 0)) }),
  }),
  relu: (tf, d) => ({ inputs: { x: vec(d) }, forward: (x) => ({ y: tf.relu(x.x!) }), wrt: ["x"] }),
  relu_in_place: (tf, d) => ({ inputs: { x: vec(d) }, forward: (x) => ({ x: tf.relu(x.x!) }) }),
  relu_backward: (tf, d) => ({
    inputs: { dy: vec(d), x: vec(d), dx: vec(d) },
    forward: (x) => ({ dx: tf.add(x.dx!, tf.mul(x.dy!, tf.step(x.x!))) }),
  }),
};
