// Concatenation along the last axis (the gate input [mean ; e_u], the scorer input
// [h_t ; item ; e_u]) and along the first axis (per-user outputs back into one batch).
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, shapeStr, withCols } from "./check.js";

/** Parts of equal row count side by side: [rows, Σ cols]. */
export function concatCols(tp: Tape, parts: readonly Tensor[]): Tensor {
  need(parts.length > 0, "concatCols", () => "nothing to concatenate");
  const rows = parts[0]!.rows;
  need(parts.every((p) => p.rows === rows), "concatCols", () => `row counts differ: ${parts.map(shapeStr).join(", ")}`);
  const width = parts.reduce((s, p) => s + p.cols, 0);
  const y = tp.output(withCols(parts[0]!, width), ...parts);
  const f = tp.be.f;
  let at = 0;
  for (const p of parts) {
    const c = p.cols;
    for (let r = 0; r < rows; r++) f.copyWithin(y.offset + r * width + at, p.offset + r * c, p.offset + (r + 1) * c);
    at += c;
  }
  tp.record(y, () => {
    let from = 0;
    for (const p of parts) {
      const c = p.cols;
      if (p.requiresGrad) {
        const dp = tp.grad(p);
        const g = tp.be.f;
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < c; j++) g[dp + r * c + j] = g[dp + r * c + j]! + g[y.grad + r * width + from + j]!;
        }
      }
      from += c;
    }
  });
  return y;
}

/** Parts with the same trailing shape stacked along the first axis. */
export function concatRows(tp: Tape, parts: readonly Tensor[]): Tensor {
  need(parts.length > 0, "concatRows", () => "nothing to concatenate");
  const tail = parts[0]!.shape.slice(1);
  need(
    parts.every((p) => p.shape.length === tail.length + 1 && p.shape.slice(1).every((s, k) => s === tail[k])),
    "concatRows",
    () => `trailing shapes differ: ${parts.map(shapeStr).join(", ")}`,
  );
  const lead = parts.reduce((s, p) => s + p.shape[0]!, 0);
  const y = tp.output([lead, ...tail], ...parts);
  const f = tp.be.f;
  let at = 0;
  for (const p of parts) {
    f.copyWithin(y.offset + at, p.offset, p.offset + p.size);
    at += p.size;
  }
  tp.record(y, () => {
    let from = 0;
    for (const p of parts) {
      if (p.requiresGrad) tp.be.axpy(tp.grad(p), y.grad + from, p.size, 1);
      from += p.size;
    }
  });
  return y;
}
