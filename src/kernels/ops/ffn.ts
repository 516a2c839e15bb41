// Op-table entries for assembly/ffn.ts.
import { ffnParamSize, ffnSaveSize, NONE } from "../kernels.js";
import type { Rng } from "../../util/rng.js";
import { defineOp, type OpDef } from "./registry.js";

// drop: 1 = a dropout mask is passed, 0 = NONE. big: 1 = x and b1 scaled by 1e3 (large values).
type F = { rows: number; d: number; dff: number; drop: number; big: number };

// Dropout probability of the test masks: kept units are scaled by 1/(1 − p).
const P_DROP = 0.25;

const scaleOf = (d: F) => (d.big ? 1e3 : 1);
const uniform = (rng: Rng, n: number, a: number) => Array.from({ length: n }, () => Math.fround(rng.uniform(-a, a)));

/**
 * The inputs keep every pre-activation x·W1 + b1 at least 0.5·scale away from the ReLU kink, so
 * that finite differences (step 1e-5) never cross it and the f32 and f64 backends agree on every
 * unit's ReLU branch: |x| ≤ scale and |W1| ≤ 0.5/d bound |x·W1| by 0.5·scale, while
 * |b1| ∈ [1, 2)·scale with a random sign (so about half the units are off and both branches of
 * the gradient are exercised). Values are rounded to f32 so every backend sees the same inputs.
 */
function initW(rng: Rng, d: F): number[] {
  const s = scaleOf(d);
  const w1 = uniform(rng, d.d * d.dff, 0.5 / Math.max(1, d.d));
  const b1 = Array.from({ length: d.dff }, () => Math.fround((rng.next() < 0.5 ? -1 : 1) * (1 + rng.next()) * s));
  const w2 = uniform(rng, d.dff * d.d, 1 / Math.sqrt(Math.max(1, d.dff)));
  const b2 = uniform(rng, d.d, 1);
  return [...w1, ...b1, ...w2, ...b2];
}

const dims = {
  rows: [0, 40] as [number, number],
  d: [0, 40] as [number, number],
  dff: [0, 70] as [number, number],
  drop: [0, 1] as [number, number],
  big: [0, 1] as [number, number],
};
const edge: F[] = [
  { rows: 0, d: 4, dff: 8, drop: 1, big: 0 },
  { rows: 3, d: 0, dff: 5, drop: 0, big: 0 },
  { rows: 2, d: 3, dff: 0, drop: 1, big: 0 },
  { rows: 1, d: 1, dff: 1, drop: 0, big: 0 },
  { rows: 1, d: 1, dff: 1, drop: 1, big: 0 },
  { rows: 1, d: 5, dff: 7, drop: 1, big: 0 },
  { rows: 5, d: 9, dff: 6, drop: 0, big: 0 },
  { rows: 7, d: 10, dff: 11, drop: 1, big: 0 },
  { rows: 9, d: 11, dff: 13, drop: 0, big: 1 },
  { rows: 9, d: 11, dff: 13, drop: 1, big: 1 },
  { rows: 65, d: 48, dff: 48, drop: 1, big: 0 },
  { rows: 67, d: 49, dff: 51, drop: 0, big: 0 },
];
// The model's blocks: rows = B·T, d = dff ∈ {48, 64}, training with dropout.
const bench: F[] = [];
for (const d of [48, 64]) for (const T of [65, 128]) for (const B of [1, 32]) bench.push({ rows: B * T, d, dff: d, drop: 1, big: 0 });

const drop = (d: F, p: Record<string, number>) => (d.drop ? p.drop! : NONE);

export const ffnOps: OpDef[] = [
  defineOp<F>({
    name: "ffn",
    family: "ffn",
    dims,
    edge,
    bench,
    tensors: [
      { name: "x", role: "in", size: (d) => d.rows * d.d, init: (rng, n, d) => uniform(rng, n, scaleOf(d)) },
      { name: "w", role: "in", size: (d) => ffnParamSize(d.d, d.dff), init: (rng, _n, d) => initW(rng, d) },
      {
        name: "drop",
        role: "in",
        size: (d) => (d.drop ? d.rows * d.dff : 0),
        init: (rng, n) => Array.from({ length: n }, () => (rng.next() < P_DROP ? 0 : Math.fround(1 / (1 - P_DROP)))),
      },
      { name: "y", role: "out", size: (d) => d.rows * d.d },
      { name: "save", role: "out", size: (d) => ffnSaveSize(d.rows, d.dff) },
    ],
    forward: (be, d, p) => be.ffnForward(p.x!, p.w!, p.y!, p.save!, d.rows, d.d, d.dff, drop(d, p)),
    // Two chained f32 dot products (length d, then dff) against the reference's doubles rounded
    // once per stage: error ~ √K·ulp of the terms' magnitude, which grows with the scale.
    tol: (d) => ({ abs: 1e-6 * Math.sqrt(d.d + d.dff + 1) * scaleOf(d), rel: 1e-6 * Math.sqrt(d.d + d.dff + 1) }),
    // two GEMMs of 2·rows·d·dff
    flops: (d) => 4 * d.rows * d.d * d.dff,
    grad: {
      wrt: ["x", "w"],
      of: ["y"],
      backward: (be, d, p) => be.ffnBackward(p.dy!, p.x!, p.w!, p.save!, p.dx!, p.dw!, d.rows, d.d, d.dff, drop(d, p)),
      // four GEMMs of 2·rows·d·dff (dW2, dh, dW1, dx)
      flops: (d) => 8 * d.rows * d.d * d.dff,
      // Weight gradients sum up to 4096 rows (bench shapes) of f32 products: relative to each
      // gradient's peak magnitude the error is about √rows·ulp ≈ 4e-6 at worst.
      tol: () => ({ abs: 1e-6, rel: 2e-5 }),
    },
  }),
];
