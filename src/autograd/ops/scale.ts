// Scalings: by a per-row (or single) factor that is itself a tensor (the gate-weighted expert
// output g_k·FFN_k(X), whose gradient reaches the gate), and by a constant (loss weights).
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, shapeStr } from "./check.js";

/** y[r, :] = s[r]·x[r, :], with s of x.rows values or a single one for every row. */
export function scaleRows(tp: Tape, x: Tensor, s: Tensor): Tensor {
  const rows = x.rows;
  const cols = x.cols;
  need(s.size === rows || s.size === 1, "scaleRows", () => `factor ${shapeStr(s)} for ${rows} rows of ${shapeStr(x)}`);
  const step = s.size === 1 ? 0 : 1;
  const y = tp.output(x.shape, x, s);
  const f = tp.be.f;
  for (let r = 0; r < rows; r++) {
    const a = f[s.offset + r * step]!;
    for (let c = 0; c < cols; c++) f[y.offset + r * cols + c] = a * f[x.offset + r * cols + c]!;
  }
  tp.record(y, () => {
    const dx = x.requiresGrad ? tp.grad(x) : -1;
    const ds = s.requiresGrad ? tp.grad(s) : -1;
    const g = tp.be.f;
    for (let r = 0; r < rows; r++) {
      const a = g[s.offset + r * step]!;
      let dot = 0;
      for (let c = 0; c < cols; c++) {
        const dy = g[y.grad + r * cols + c]!;
        dot += dy * g[x.offset + r * cols + c]!;
        if (dx >= 0) g[dx + r * cols + c] = g[dx + r * cols + c]! + a * dy;
      }
      if (ds >= 0) g[ds + r * step] = g[ds + r * step]! + dot;
    }
  });
  return y;
}

/** y = c·x for a constant c. */
export function scale(tp: Tape, x: Tensor, c: number): Tensor {
  const be = tp.be;
  const y = tp.output(x.shape, x);
  be.f.copyWithin(y.offset, x.offset, x.offset + x.size);
  be.scale(y.offset, x.size, c);
  tp.record(y, () => be.axpy(tp.grad(x), y.grad, x.size, c));
  return y;
}
