// Views: tensors that share memory and gradient with a base tensor, so nothing is copied or
// recorded (see Tape.view).
import type { Tape } from "../tape.js";
import { sizeOf, type Tensor } from "../tensor.js";
import { need, shapeStr } from "./check.js";

/** The same elements under another shape of equal size. */
export function reshape(tp: Tape, x: Tensor, shape: readonly number[]): Tensor {
  const t = tp.view(x, 0, shape);
  need(t.size === x.size, "reshape", () => `${shapeStr(x)} -> [${shape.join(", ")}] changes the size`);
  return t;
}

/** Entries r0 .. r1−1 along the first axis (e.g. one user's positions of a batch). */
export function sliceRows(tp: Tape, x: Tensor, r0: number, r1: number): Tensor {
  const n0 = x.shape[0] ?? 1;
  need(Number.isInteger(r0) && Number.isInteger(r1) && 0 <= r0 && r0 <= r1 && r1 <= n0, "sliceRows", () => `[${r0}, ${r1}) of ${shapeStr(x)}`);
  const inner = sizeOf(x.shape.slice(1));
  return tp.view(x, r0 * inner, [r1 - r0, ...x.shape.slice(1)]);
}
