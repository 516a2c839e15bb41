// Op-table entries for assembly/adam.ts.
import type { Rng } from "../../util/rng.js";
import { defineOp, type OpDef } from "./registry.js";

// e: decimal exponent of the magnitudes (p, g, m ~ 10^e, v ~ 10^2e); steps: consecutive steps in
// one run (g holds one gradient per step), numbered from `start`; fresh: m = v = 0 and start = 1,
// the model's case (a fresh optimiser every round).
type A = { n: number; e: number; steps: number; start: number; fresh: number };
// The model's learning rate (METHOD.md) and a decay large enough to show in the result.
export const ADAM_HYPER = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };

const scaled = (power: number) => (rng: Rng, n: number, d: A) => Array.from({ length: n }, () => rng.normal() * 10 ** (power * d.e));
const moments = (power: number) => (rng: Rng, n: number, d: A) => {
  if (d.fresh) return new Float64Array(n);
  return power === 1 ? scaled(1)(rng, n, d) : Array.from({ length: n }, () => (rng.normal() * 10 ** d.e) ** 2);
};

export const adamOps: OpDef[] = [
  defineOp<A>({
    name: "adam_step",
    family: "adam",
    dims: { n: [0, 300], e: [-3, 3], steps: [1, 3], start: [1, 3000], fresh: [0, 1] },
    edge: [
      ...[0, 1, 2, 3, 5, 6, 7, 9, 1027].map((n) => ({ n, e: 0, steps: 1, start: 1, fresh: 1 })),
      { n: 13, e: 3, steps: 2, start: 5, fresh: 0 },
      { n: 13, e: -3, steps: 2, start: 5, fresh: 0 },
      { n: 11, e: 0, steps: 3, start: 1, fresh: 1 },
      { n: 6, e: 0, steps: 1, start: 100000, fresh: 0 },
    ],
    // one client's shared + group partitions, and a large model
    bench: [{ n: 16384, e: 0, steps: 1, start: 1, fresh: 1 }, { n: 131072, e: 0, steps: 1, start: 1, fresh: 1 }],
    tensors: [
      { name: "p", role: "inout", size: (d) => d.n, init: scaled(1) },
      { name: "g", role: "in", size: (d) => d.n * d.steps, init: scaled(1) },
      { name: "m", role: "inout", size: (d) => d.n, init: moments(1) },
      { name: "v", role: "inout", size: (d) => d.n, init: moments(2) },
    ],
    forward: (be, d, p) => {
      const h = ADAM_HYPER;
      const start = d.fresh ? 1 : d.start;
      for (let s = 0; s < d.steps; s++) {
        be.adamStep(p.p!, p.g! + s * d.n, p.m!, p.v!, d.n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, start + s);
      }
    },
    // f32 evaluation (with β rounded to f32) differs from the reference's doubles by a few 2⁻²⁴ of
    // the terms involved. m = β1·m + (1−β1)·g may cancel, so its error is absolute in the size of
    // its terms (10^e); p moves by lr·m̂/(√v̂+eps) = lr·O(1) per step whatever e is, and p itself
    // may cancel against those moves, so p's error is absolute in 10^e + lr·steps.
    tol: (d) => ({ abs: 1e-6 * (10 ** d.e + ADAM_HYPER.lr * d.steps), rel: 2e-6 }),
    flops: (d) => 14 * d.n * d.steps,
  }),
];
