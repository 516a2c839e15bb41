// The Switch-Transformer-style balance loss of one block (METHOD.md): α·K·(n_k/N)·g_k for each
// user's chosen group k, where n_k/N is the share of last round's clients that chose k at this
// block. A popular group costs more, which pushes the gate towards the others. Averaged over the
// given rows (a client's batch is one row in the reference).
import { linear } from "../autograd/ops/linear.js";
import { reshape } from "../autograd/ops/view.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { floatTensor } from "./fill.js";
import { chosenProbability, type GateResult } from "./group-gate.js";

/**
 * (α·K / |rows|) · Σ_{b ∈ rows} share[k_b]·g[b, k_b] as a [1] tensor; share: the K shares of this
 * block. rows must not be empty.
 */
export function balanceLoss(tp: Tape, gate: GateResult, rows: readonly number[], share: ArrayLike<number>, alpha: number): Tensor {
  const K = gate.probs.cols;
  if (share.length !== K) throw new RangeError(`balanceLoss: ${share.length} shares for ${K} groups`);
  const n = rows.length;
  if (n === 0) throw new RangeError("balanceLoss: no rows");
  const chosen = chosenProbability(tp, gate, n, (j) => rows[j]!, 1);
  const coef = floatTensor(tp, [n, 1], (j) => (alpha * K * share[gate.routes[rows[j]!]!]!) / n);
  // [1, n]·[n, 1]: the weighted sum as one product (the coefficients are constants)
  return reshape(tp, linear(tp, reshape(tp, chosen, [1, n]), coef), [1]);
}
