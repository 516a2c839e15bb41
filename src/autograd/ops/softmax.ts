// Softmax over each row of a small matrix (the group gate: K = 4 columns), in TypeScript over
// be.f. The row maximum is subtracted first, so large logits cannot overflow.
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";

export function softmaxRows(tp: Tape, x: Tensor): Tensor {
  const rows = x.rows;
  const K = x.cols;
  const y = tp.output(x.shape, x);
  const f = tp.be.f;
  for (let r = 0; r < rows; r++) {
    const xi = x.offset + r * K;
    const yi = y.offset + r * K;
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, f[xi + k]!);
    let s = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(f[xi + k]! - m);
      f[yi + k] = e;
      s += e;
    }
    for (let k = 0; k < K; k++) f[yi + k] = f[yi + k]! / s;
  }
  // dx = y ⊙ (dy − Σ dy·y), the softmax Jacobian applied row by row
  tp.record(y, () => {
    const dx = tp.grad(x);
    const g = tp.be.f;
    for (let r = 0; r < rows; r++) {
      const o = r * K;
      let dot = 0;
      for (let k = 0; k < K; k++) dot += g[y.grad + o + k]! * g[y.offset + o + k]!;
      for (let k = 0; k < K; k++) g[dx + o + k] = g[dx + o + k]! + g[y.offset + o + k]! * (g[y.grad + o + k]! - dot);
    }
  });
  return y;
}
