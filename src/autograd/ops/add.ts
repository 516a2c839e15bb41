// Sums: the residual connection (a + b, same shape) and a broadcast add of one tensor to every
// leading index of another (position embeddings onto every sequence of a batch).
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, shapeStr } from "./check.js";

/** a + b (same size). */
export function add(tp: Tape, a: Tensor, b: Tensor): Tensor {
  const be = tp.be;
  need(a.size === b.size, "add", () => `${shapeStr(a)} + ${shapeStr(b)}`);
  const n = a.size;
  const y = tp.output(a.shape, a, b);
  be.add(a.offset, b.offset, y.offset, n);
  tp.record(y, () => {
    if (a.requiresGrad) be.axpy(tp.grad(a), y.grad, n, 1);
    if (b.requiresGrad) be.axpy(tp.grad(b), y.grad, n, 1);
  });
  return y;
}

/** x + v with x read as [x.size / v.size, v.size]: v is added to every leading index. */
export function addBroadcast(tp: Tape, x: Tensor, v: Tensor): Tensor {
  const be = tp.be;
  const cols = v.size;
  need(cols > 0 ? x.size % cols === 0 : x.size === 0, "addBroadcast", () => `${shapeStr(v)} does not tile ${shapeStr(x)}`);
  const rows = cols === 0 ? 0 : x.size / cols;
  const y = tp.output(x.shape, x, v);
  be.f.copyWithin(y.offset, x.offset, x.offset + x.size);
  be.addRowVector(y.offset, v.offset, rows, cols);
  tp.record(y, () => {
    if (x.requiresGrad) be.axpy(tp.grad(x), y.grad, x.size, 1);
    if (v.requiresGrad) be.colSumAcc(y.grad, tp.grad(v), rows, cols);
  });
  return y;
}
