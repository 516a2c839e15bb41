// LayerNorm over the last axis, with the gain and bias in one slice w = [γ d | β d].
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, shapeStr } from "./check.js";

export function layerNorm(tp: Tape, x: Tensor, w: Tensor, eps = 1e-5): Tensor {
  const be = tp.be;
  const d = x.cols;
  const rows = x.rows;
  need(w.size === 2 * d, "layerNorm", () => `w has ${w.size} floats, expected 2·${d} (x ${shapeStr(x)})`);
  const y = tp.output(x.shape, x, w);
  const save = tp.arena.alloc(2 * rows);
  be.layerNormForward(x.offset, w.offset, y.offset, save, rows, d, eps);
  tp.record(y, () => be.layerNormBackward(y.grad, x.offset, w.offset, save, tp.grad(x), tp.grad(w), rows, d));
  return y;
}
