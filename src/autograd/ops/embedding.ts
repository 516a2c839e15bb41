// Gathers of rows by i32 index: field embeddings (several fields per item, each row of the table
// `dim` wide, the fields' vectors concatenated) and, with one field, picking rows of any tensor
// (the positions whose score is predicted). Backward scatter-adds, so repeated indices add up.
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, shapeStr, withCols } from "./check.js";

/** table: [rows, dim]; idx: i32 [..., fields] of row numbers → [..., fields·dim]. */
export function embedding(tp: Tape, table: Tensor, idx: Tensor): Tensor {
  const be = tp.be;
  need(idx.dtype === "i32", "embedding", () => "indices must be an i32 tensor");
  const dim = table.cols;
  const fields = idx.cols;
  const n = idx.rows;
  // the kernel trusts its indices, so a bad one is caught here rather than read out of bounds
  const limit = table.rows;
  const iv = be.i;
  for (let j = 0; j < idx.size; j++) {
    const r = iv[idx.offset + j]!;
    need(r >= 0 && r < limit, "embedding", () => `index ${r} at ${j} is outside a table of ${limit} rows ${shapeStr(table)}`);
  }
  const out = tp.output(withCols(idx, fields * dim), table);
  be.embeddingGather(table.offset, idx.offset, out.offset, n, fields, dim);
  tp.record(out, () => be.embeddingScatterAdd(out.grad, idx.offset, tp.grad(table), n, fields, dim));
  return out;
}

/** Rows idx[j] of x read as [x.rows, x.cols] → [idx.size, x.cols]. */
export function selectRows(tp: Tape, x: Tensor, idx: Tensor): Tensor {
  const table = tp.view(x, 0, [x.rows, x.cols]);
  return embedding(tp, table, tp.view(idx, 0, [idx.size, 1]));
}
