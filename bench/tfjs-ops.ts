// The same maths as each op-table entry, written with TensorFlow.js ops, keyed by op name. Ops
// with no reasonable TensorFlow.js equivalent are absent and the benchmark leaves that column
// empty with a note. Backward passes use tf.grads over the forward maths, seeded with the op's
// gradient seed, i.e. what a TensorFlow.js model would do to train the same layer.
import type { Tensor } from "@tensorflow/tfjs-core";
import type { Dims } from "../src/kernels/ops/registry.js";
import type { Tf } from "./tfjs.js";

/** Where an input tensor's values come from: the op tensor `from` (default: the input's own name), starting at `at`. */
export interface TfInput {
  shape: number[];
  from?: string;
  at?: number;
  dtype?: "int32";
}

export interface TfjsSpec {
  inputs: Record<string, TfInput>;
  /** The forward maths; returns outputs named as the op's output tensors ("result" for a scalar). */
  forward(x: Record<string, Tensor>): Record<string, Tensor>;
  /** Inputs the fwd+bwd phase differentiates (the op's `grad.wrt`, possibly split into parts). */
  wrt?: string[];
}

export type TfjsOp = (tf: Tf, d: Dims) => TfjsSpec;

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

const vec = (d: Dims): TfInput => ({ shape: [d.n!] });

export const TFJS_OPS: Record<string, TfjsOp> = {
  gemm_ab: gemm(false, false),
  gemm_abt: gemm(false, true),
  gemm_atb: gemm(true, false),

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
};
