// Mean over the real (non-padding) positions of each sequence: the group gate's summary of a
// user's history. Written in TypeScript over be.f: it is O(B·T·d) once per layer.
import type { FloatArray } from "../../kernels/backend.js";
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, needFloat, shapeStr } from "./check.js";

/**
 * x: [B, T, d] (any shape with B·T rows of d), mask: [B, T] → [B, d]:
 * out[b] = Σₜ mask[b,t]·x[b,t] / Σₜ mask[b,t], and 0 for a sequence that is all padding. The mask
 * is a constant: it takes no gradient.
 */
export function maskedMean(tp: Tape, x: Tensor, mask: Tensor): Tensor {
  needFloat("maskedMean", mask);
  need(mask.shape.length === 2 && mask.size === x.rows, "maskedMean", () => `mask ${shapeStr(mask)} for x ${shapeStr(x)}`);
  const [B, T] = mask.shape as [number, number];
  const d = x.cols;
  const y = tp.output([B, d], x);
  // 1 / (number of real positions of sequence b), 0 for none
  const inv = (f: FloatArray, b: number): number => {
    let c = 0;
    for (let t = 0; t < T; t++) c += f[mask.offset + b * T + t]!;
    return c > 0 ? 1 / c : 0;
  };
  const f = tp.be.f;
  for (let b = 0; b < B; b++) {
    const s = inv(f, b);
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let t = 0; t < T; t++) acc += f[mask.offset + b * T + t]! * f[x.offset + (b * T + t) * d + j]!;
      f[y.offset + b * d + j] = acc * s;
    }
  }
  tp.record(y, () => {
    const dx = tp.grad(x);
    const g = tp.be.f;
    for (let b = 0; b < B; b++) {
      const s = inv(g, b);
      for (let t = 0; t < T; t++) {
        const w = g[mask.offset + b * T + t]! * s;
        if (w === 0) continue;
        const row = (b * T + t) * d;
        for (let j = 0; j < d; j++) g[dx + row + j] = g[dx + row + j]! + w * g[y.grad + b * d + j]!;
      }
    }
  });
  return y;
}
