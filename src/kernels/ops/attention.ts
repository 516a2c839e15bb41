// Op-table entries for assembly/attention.ts.
import { attentionParamSize, attentionSaveSize } from "../kernels.js";
import type { Rng } from "../../util/rng.js";
import { defineOp, type OpDef } from "./registry.js";

/**
 * pad chooses the key-padding mask: 0 none; 1 left-padded like the model's sequences, with batch
 * rows cycling through (random length ≥ 1, all padding, no padding); 2 random holes (each key
 * padding with probability 0.4) and batch row 1 all padding.
 */
type A = { B: number; T: number; d: number; heads: number; causal: number; pad: number };

function maskInit(rng: Rng, _n: number, s: A): number[] {
  const m: number[] = [];
  for (let b = 0; b < s.B; b++) {
    const len = s.pad === 0 ? s.T : s.pad === 2 ? -1 : [1 + rng.int(Math.max(1, s.T)), 0, s.T][b % 3]!;
    for (let t = 0; t < s.T; t++) {
      if (len >= 0) m.push(t >= s.T - len ? 1 : 0);
      else m.push(b !== 1 && rng.next() < 0.6 ? 1 : 0);
    }
  }
  return m;
}

// Projections scaled like the model's init (std 1/√d), so that scores are O(1) and the softmax
// neither saturates (which would hide gradient errors) nor is uniform.
function paramInit(rng: Rng, n: number, s: A): number[] {
  const mats = 4 * s.d * s.d;
  return Array.from({ length: n }, (_, j) => rng.normal() * (j < mats ? 1 / Math.sqrt(s.d) : 0.1));
}

// (query, key) pairs per batch row and head that the kernels multiply: the causal half counts
// only the lower triangle with its diagonal (work above it inside a row block is not counted).
const pairs = (s: A) => (s.causal ? (s.T * (s.T + 1)) / 2 : s.T * s.T);
// Projections 2·rows·d² each (4 forward, 8 backward: dW and dx for each) plus bias adds; per pair
// 2·d for each T×T product (forward S and P·V, backward dP, dV, dQ, dK). Softmax is not counted.
const rowsOf = (s: A) => s.B * s.T;
const fwdFlops = (s: A) => 8 * rowsOf(s) * s.d * s.d + 4 * rowsOf(s) * s.d + 4 * s.B * s.d * pairs(s);
const bwdFlops = (s: A) => 16 * rowsOf(s) * s.d * s.d + 4 * rowsOf(s) * s.d + 8 * s.B * s.d * pairs(s);

const edge: A[] = [
  { B: 1, T: 1, d: 1, heads: 1, causal: 1, pad: 0 },
  { B: 0, T: 5, d: 4, heads: 1, causal: 1, pad: 0 },
  { B: 2, T: 0, d: 4, heads: 2, causal: 0, pad: 0 },
  { B: 2, T: 1, d: 4, heads: 1, causal: 1, pad: 1 },
  { B: 2, T: 3, d: 2, heads: 1, causal: 0, pad: 1 },
  { B: 3, T: 7, d: 5, heads: 1, causal: 1, pad: 1 },
  { B: 3, T: 9, d: 6, heads: 2, causal: 1, pad: 1 },
  { B: 2, T: 6, d: 12, heads: 3, causal: 0, pad: 2 },
  { B: 3, T: 11, d: 7, heads: 1, causal: 0, pad: 1 },
  { B: 2, T: 10, d: 9, heads: 3, causal: 1, pad: 2 },
  // several causal row blocks (20 rows each in the kernel), in a left-padded batch
  { B: 3, T: 41, d: 8, heads: 2, causal: 1, pad: 1 },
  { B: 1, T: 17, d: 48, heads: 1, causal: 1, pad: 0 },
  // three chunks of batch rows in the kernel (256 rows of B·T each, rounded down to whole rows)
  { B: 5, T: 100, d: 5, heads: 1, causal: 1, pad: 1 },
];

const bench: A[] = [];
for (const d of [48, 64]) for (const T of [65, 128]) for (const B of [1, 32]) bench.push({ B, T, d, heads: 1, causal: 1, pad: 0 });

export const attentionOps: OpDef[] = [
  defineOp<A>({
    name: "attention",
    family: "attention",
    dims: { B: [0, 3], T: [0, 40], d: [1, 16], heads: [1, 4], causal: [0, 1], pad: [0, 2] },
    valid: (s) => s.d % s.heads === 0,
    edge,
    bench,
    tensors: [
      { name: "xq", role: "in", size: (s) => s.B * s.T * s.d },
      { name: "xkv", role: "in", size: (s) => s.B * s.T * s.d },
      { name: "w", role: "in", size: (s) => attentionParamSize(s.d), init: paramInit },
      { name: "mask", role: "in", size: (s) => s.B * s.T, init: maskInit },
      { name: "out", role: "out", size: (s) => s.B * s.T * s.d },
      // Q, K, V, ctx and P: compared too, so the save layout itself is checked
      { name: "save", role: "out", size: (s) => attentionSaveSize(s.B, s.T, s.d, s.heads) },
    ],
    forward: (be, s, p) =>
      be.attentionForward(p.xq!, p.xkv!, p.w!, p.mask!, p.out!, p.save!, s.B, s.T, s.d, s.heads, s.causal as 0 | 1),
    // f32 dot products of length d (projections) and T (P·V) of O(1) values: rounding grows like
    // √length·ulp, and exp adds 1.3 ulp per probability. Worst seen over the edge, bench and 150
    // random shapes: 1/10 of this bound.
    tol: (s) => ({ abs: 1e-6 * Math.sqrt(s.d + s.T + 1), rel: 1e-5 }),
    flops: fwdFlops,
    grad: {
      wrt: ["xq", "xkv", "w"],
      of: ["out"],
      backward: (be, s, p) =>
        be.attentionBackward(
          p.dout!, p.xq!, p.xkv!, p.w!, p.mask!, p.save!, p.dxq!, p.dxkv!, p.dw!,
          s.B, s.T, s.d, s.heads, s.causal as 0 | 1,
        ),
      flops: bwdFlops,
      // relative to each gradient's peak: the weight gradients sum B·T rows (up to 4096 in the
      // bench shapes) in f32; worst seen 1.2e-6 of the peak, at the model's B = 32, T = 65, d = 64
      tol: () => ({ abs: 1e-6, rel: 2e-5 }),
    },
  }),
];
