// y = max(x, 0); dx += dy where x > 0.
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";

export function relu(tp: Tape, x: Tensor): Tensor {
  const be = tp.be;
  const y = tp.output(x.shape, x);
  be.reluForward(x.offset, y.offset, x.size);
  tp.record(y, () => be.reluBackward(y.grad, x.offset, tp.grad(x), x.size));
  return y;
}
