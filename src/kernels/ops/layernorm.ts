// Op-table entries for assembly/layernorm.ts.
import type { Rng } from "../../util/rng.js";
import { defineOp, type OpDef } from "./registry.js";

// kind: 0 standard normal rows; 1 degenerate rows (row 0 all zeros, row 1 constant, so variance
// 0); 2 a large offset (1e3 + N(0,1): the naive E[x²] − E[x]² loses everything in f32);
// 3 large values (1e4·(2 + N(0,1)), Σ(x − mean)² ≈ 1e10; the offset keeps each row's mean away
// from 0, where any f32 sum of ±1e4 terms has an absolute error far above y's tolerance).
type L = { rows: number; d: number; kind: number };

const EPS = 1e-5;

function initX(rng: Rng, n: number, d: L): number[] {
  const x = Array.from({ length: n }, () => {
    const z = rng.normal();
    return d.kind === 2 ? 1e3 + z : d.kind === 3 ? 1e4 * (2 + z) : z;
  });
  if (d.kind === 1) {
    for (let j = 0; j < d.d && j < n; j++) x[j] = 0;
    for (let j = d.d; j < 2 * d.d && j < n; j++) x[j] = 3.7;
  }
  // rounded to f32 so that every backend normalises the same values
  return x.map(Math.fround);
}

const dims = { rows: [0, 20] as [number, number], d: [1, 70] as [number, number], kind: [0, 3] as [number, number] };
const edge: L[] = [
  { rows: 0, d: 8, kind: 0 },
  { rows: 3, d: 0, kind: 0 },
  { rows: 1, d: 1, kind: 0 },
  { rows: 4, d: 1, kind: 0 },
  { rows: 2, d: 5, kind: 1 },
  { rows: 3, d: 6, kind: 1 },
  { rows: 3, d: 7, kind: 1 },
  { rows: 5, d: 48, kind: 1 },
  { rows: 3, d: 9, kind: 0 },
  // Offset rows with d ≫ 1 only: at d = 2, x̂ = ±1 and dx ≈ 0 exactly, so the f32 mean's rounding
  // (6e-5 at 1e3, inherent in saving it as f32) dominates dx relative to its peak.
  { rows: 4, d: 49, kind: 2 },
  { rows: 4, d: 51, kind: 3 },
  { rows: 65, d: 64, kind: 0 },
];
const bench: L[] = [];
for (const d of [48, 64]) for (const T of [65, 128]) for (const B of [1, 32]) bench.push({ rows: B * T, d, kind: 0 });

export const layerNormOps: OpDef[] = [
  defineOp<L>({
    name: "layernorm",
    family: "layernorm",
    dims,
    edge,
    bench,
    tensors: [
      { name: "x", role: "in", size: (d) => d.rows * d.d, init: initX },
      { name: "w", role: "in", size: (d) => 2 * d.d, init: (rng, n) => Array.from({ length: n }, () => Math.fround(rng.normal())) },
      { name: "y", role: "out", size: (d) => d.rows * d.d },
      { name: "save", role: "out", size: (d) => 2 * d.rows },
    ],
    forward: (be, d, p) => be.layerNormForward(p.x!, p.w!, p.y!, p.save!, d.rows, d.d, EPS),
    // The mean is stored in f32 and both backends normalise with the stored value, but the f32
    // kernel's mean may differ from the rounded double mean by an ulp: at offset 1e3 that is
    // 6.1e-5, i.e. ~6e-5 in x̂ (σ ≈ 1) and up to ~3e-4 in y with |γ| ≲ 4. Otherwise errors are a
    // few ulps of x̂·γ + β plus √d·ulp from the sums.
    tol: (d) => ({ abs: d.kind === 2 ? 4e-4 : 1e-6 * Math.sqrt(d.d), rel: 1e-6 * Math.sqrt(d.d) }),
    // mean (1 add), centred sums (3), normalise (3) per value
    flops: (d) => 7 * d.rows * d.d,
    grad: {
      wrt: ["x", "w"],
      of: ["y"],
      backward: (be, d, p) => be.layerNormBackward(p.dy!, p.x!, p.w!, p.save!, p.dx!, p.dw!, d.rows, d.d),
      // x̂ and g with the row sums and dγ, dβ (8), then dx (7) per value
      flops: (d) => 15 * d.rows * d.d,
      // f32 sums of d (dx) or rows (dγ, dβ) products: a few ulps·√n relative to the peak; offset
      // rows add the f32 mean's rounding, 6e-5 in x̂ (see the forward tolerance).
      tol: (d) => (d.kind === 2 ? { abs: 1e-5, rel: 2e-4 } : { abs: 1e-6, rel: 2e-5 }),
    },
  }),
];
