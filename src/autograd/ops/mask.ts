// y[r, :] = x[r, :]·mask[r]: zeroes the padding positions (mask 0) so that they carry neither
// values nor gradients. Backward: dx += dy·mask, through a temporary so the kernels stay
// in-place ones. The mask is a constant: it takes no gradient.
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, needFloat, shapeStr } from "./check.js";

export function maskRows(tp: Tape, x: Tensor, mask: Tensor): Tensor {
  const be = tp.be;
  needFloat("maskRows", mask);
  need(mask.size === x.rows, "maskRows", () => `mask ${shapeStr(mask)} for ${x.rows} rows of ${shapeStr(x)}`);
  const rows = x.rows;
  const cols = x.cols;
  const y = tp.output(x.shape, x);
  be.f.copyWithin(y.offset, x.offset, x.offset + x.size);
  be.mulRowMask(y.offset, mask.offset, rows, cols);
  tp.record(y, () => {
    const tmp = tp.arena.alloc(x.size);
    be.f.copyWithin(tmp, y.grad, y.grad + x.size);
    be.mulRowMask(tmp, mask.offset, rows, cols);
    be.axpy(tp.grad(x), tmp, x.size, 1);
  });
  return y;
}
