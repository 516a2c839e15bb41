// Op-table entries for assembly/loss.ts.
import type { Rng } from "../../util/rng.js";
import { defineOp, type OpDef } from "./registry.js";

// e: one logit in eight is ±10^e (e = 30: far beyond where a naive log(1 + e^x) overflows);
// zeroW: every weight is 0, so Σ w = 0.
type L = { n: number; e: number; zeroW: number };

const logits = (rng: Rng, n: number, d: L) =>
  Array.from({ length: n }, () => (rng.next() < 0.125 ? (rng.next() < 0.5 ? -1 : 1) * 10 ** d.e : 3 * rng.normal()));
// hard labels and soft ones in [0, 1]
const labels = (rng: Rng, n: number) => Array.from({ length: n }, () => [0, 1, rng.next()][rng.int(3)]!);
// padding (0), real positions (1) and fractional weights
const weights = (rng: Rng, n: number, d: L) => Array.from({ length: n }, () => (d.zeroW ? 0 : [0, 1, rng.next()][rng.int(3)]!));

const dims = { n: [0, 300] as [number, number], e: [0, 30] as [number, number], zeroW: [0, 1] as [number, number] };
// Edge logits stay within ±1e4 here: the gradient check's central differences (h = 1e-5) cannot
// resolve a step on 1e30. bce_backward below covers e = 30.
const edge: L[] = [
  ...[0, 1, 2, 3, 5, 6, 7, 9].map((n) => ({ n, e: 0, zeroW: 0 })),
  { n: 17, e: 2, zeroW: 0 },
  { n: 33, e: 4, zeroW: 0 },
  { n: 9, e: 0, zeroW: 1 },
];
// one client's sequence (65 positions) and a pooled batch of 32 sequences
const bench: L[] = [{ n: 65, e: 0, zeroW: 0 }, { n: 65 * 32, e: 0, zeroW: 0 }];
const inputs = [
  { name: "logits", role: "in" as const, size: (d: L) => d.n, init: logits },
  { name: "labels", role: "in" as const, size: (d: L) => d.n, init: labels },
  { name: "weights", role: "in" as const, size: (d: L) => d.n, init: weights },
];
// Both backends compute in f64 from the same f32 inputs; results differ by a few f64 ulps, except
// that a value rounded to f32 storage can land one f32 ulp (2⁻²⁴ relative) apart.
const tol = () => ({ abs: 1e-12, rel: 1.2e-7 });

export const lossOps: OpDef[] = [
  defineOp<L>({
    name: "bce",
    family: "loss",
    dims,
    edge,
    bench,
    // the loss is also stored in a one-element tensor, so the gradient check can differentiate it
    tensors: [...inputs, { name: "loss", role: "out", size: () => 1 }],
    forward: (be, d, p) => {
      const r = be.bceForward(p.logits!, p.labels!, p.weights!, d.n);
      be.f[p.loss!] = r;
      return r;
    },
    tol,
    flops: (d) => 8 * d.n,
    grad: {
      wrt: ["logits"],
      of: ["loss"],
      // the loss's seed dloss is the backward's scale
      backward: (be, d, p) => be.bceBackward(p.logits!, p.labels!, p.weights!, p.dlogits!, d.n, be.f[p.dloss!]!),
      flops: (d) => 6 * d.n,
    },
  }),
  // The backward on its own, so random shapes with logits up to ±1e30 reach it.
  defineOp<L>({
    name: "bce_backward",
    family: "loss",
    dims,
    edge: [...edge, { n: 11, e: 30, zeroW: 0 }, { n: 11, e: 30, zeroW: 1 }],
    bench,
    tensors: [...inputs, { name: "dlogits", role: "inout", size: (d) => d.n }],
    forward: (be, d, p) => be.bceBackward(p.logits!, p.labels!, p.weights!, p.dlogits!, d.n, 0.75),
    tol,
    flops: (d) => 6 * d.n,
  }),
];
