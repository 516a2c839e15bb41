// Weighted mean binary cross-entropy on logits, a scalar: Σ wᵢ·ℓᵢ / Σ wᵢ. The weights double as
// the mask of positions that have a target (0 for padding and for the last position).
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need, needFloat, shapeStr } from "./check.js";

export function bceLoss(tp: Tape, logits: Tensor, labels: Tensor, weights: Tensor): Tensor {
  const be = tp.be;
  const n = logits.size;
  needFloat("bceLoss", labels, weights);
  need(labels.size === n && weights.size === n, "bceLoss", () => `logits ${shapeStr(logits)}, labels ${shapeStr(labels)}, weights ${shapeStr(weights)}`);
  const y = tp.output([1], logits);
  const v = be.bceForward(logits.offset, labels.offset, weights.offset, n);
  be.f[y.offset] = v;
  // the loss may be scaled or summed with others: its gradient is the factor the kernel applies
  tp.record(y, () => be.bceBackward(logits.offset, labels.offset, weights.offset, tp.grad(logits), n, be.f[y.grad]!));
  return y;
}
