// Shape checks shared by the ops: a wrong shape must fail loudly in TypeScript, because the
// kernels trust their sizes and would read or write outside the tensors.
import type { Tensor } from "../tensor.js";

export function need(ok: boolean, op: string, what: () => string): void {
  if (!ok) throw new RangeError(`${op}: ${what()}`);
}

/** Masks, labels and weights are read as floats: an index tensor there is a bug. */
export function needFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) need(t.dtype === "f32", op, () => `an i32 tensor ${shapeStr(t)} where floats are expected`);
}

export function shapeStr(t: Tensor): string {
  return `[${t.shape.join(", ")}]`;
}

/** All leading axes of t with the last one replaced by `cols`. */
export function withCols(t: Tensor, cols: number): number[] {
  return [...t.shape.slice(0, -1), cols];
}
