// Linear layer: y[rows×out] = x[rows×in]·W[in×out] + b. Backward: dx += dy·Wᵀ, dW += xᵀ·dy,
// db += column sums of dy; each GEMM accumulates straight into the gradient buffer.
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, shapeStr, withCols } from "./check.js";

export function linear(tp: Tape, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const be = tp.be;
  need(w.shape.length === 2 && x.cols === w.shape[0], "linear", () => `x ${shapeStr(x)} by W ${shapeStr(w)}`);
  const nIn = w.shape[0]!;
  const nOut = w.shape[1]!;
  need(b === undefined || b.size === nOut, "linear", () => `bias ${b && shapeStr(b)} for ${nOut} outputs`);
  const rows = x.rows;
  const y = b ? tp.output(withCols(x, nOut), x, w, b) : tp.output(withCols(x, nOut), x, w);
  be.gemmAB(x.offset, w.offset, y.offset, rows, nOut, nIn, 0);
  if (b) be.addRowVector(y.offset, b.offset, rows, nOut);
  tp.record(y, () => {
    if (x.requiresGrad) be.gemmABt(y.grad, w.offset, tp.grad(x), rows, nIn, nOut, 1);
    if (w.requiresGrad) be.gemmAtB(x.offset, y.grad, tp.grad(w), nIn, nOut, rows, 1);
    if (b?.requiresGrad) be.colSumAcc(y.grad, tp.grad(b), rows, nOut);
  });
  return y;
}
