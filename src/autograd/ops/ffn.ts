// Fused feed-forward block y = (relu(x·W1 + b1) ⊙ drop)·W2 + b2, one kernel call each way.
import { ffnParamSize, ffnSaveSize, NONE } from "../../kernels/kernels.js";
import type { Rng } from "../../util/rng.js";
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, shapeStr } from "./check.js";
import { dropoutMask } from "./dropout.js";

export interface FfnOptions {
  /** Hidden width. */
  dff: number;
  /** Inverted dropout on the hidden layer, its mask drawn from rng (omit, or p = 0, for none). */
  dropout?: { p: number; rng: Rng };
}

/** x: [..., d]; w: the fused slice [W1 d×dff | b1 dff | W2 dff×d | b2 d] (ffnParamSize). */
export function ffn(tp: Tape, x: Tensor, w: Tensor, opts: FfnOptions): Tensor {
  const be = tp.be;
  const d = x.cols;
  const rows = x.rows;
  const { dff } = opts;
  need(w.size === ffnParamSize(d, dff), "ffn", () => `w has ${w.size} floats, expected ${ffnParamSize(d, dff)} for d = ${d}, dff = ${dff} (x ${shapeStr(x)})`);
  const y = tp.output(x.shape, x, w);
  const save = tp.arena.alloc(ffnSaveSize(rows, dff));
  const p = opts.dropout?.p ?? 0;
  const drop = p > 0 ? dropoutMask(tp, rows * dff, p, opts.dropout!.rng) : NONE;
  be.ffnForward(x.offset, w.offset, y.offset, save, rows, d, dff, drop);
  tp.record(y, () => be.ffnBackward(y.grad, x.offset, w.offset, save, tp.grad(x), tp.grad(w), rows, d, dff, drop));
  return y;
}
