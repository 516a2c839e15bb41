// Inverted dropout: each value is kept with probability 1 − p and scaled by 1/(1 − p), so the
// expected output equals the input and evaluation needs no rescaling. The mask is drawn from an
// explicit Rng into the arena (the FFN kernel takes the same kind of mask for its hidden layer),
// by the backend's dropoutMask kernel running that Rng's own stream: the same mask, and the same
// Rng state afterwards, as drawing it here in JS, one rng.next() per element.
import { readI, writeI } from "../../kernels/backend.js";
import type { Rng } from "../../util/rng.js";
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { need } from "./check.js";

/** An arena buffer of n multipliers, each 0 with probability p and 1/(1 − p) otherwise. */
export function dropoutMask(tp: Tape, n: number, p: number, rng: Rng): number {
  need(p >= 0 && p < 1, "dropout", () => `p must be in [0, 1), got ${p}`);
  const be = tp.be;
  const m = tp.arena.alloc(n);
  const state = tp.arena.alloc(4);
  writeI(be, state, rng.getState());
  be.dropoutMask(state, m, n, p);
  rng.setState(readI(be, state, 4));
  return m;
}

/** x ⊙ mask with a fresh mask; p = 0 returns x itself. */
export function dropout(tp: Tape, x: Tensor, p: number, rng: Rng): Tensor {
  if (p === 0) return x;
  const be = tp.be;
  const n = x.size;
  const m = dropoutMask(tp, n, p, rng);
  const y = tp.output(x.shape, x);
  be.mul(x.offset, m, y.offset, n);
  tp.record(y, () => {
    const tmp = tp.arena.alloc(n);
    be.mul(y.grad, m, tmp, n);
    be.axpy(tp.grad(x), tmp, n, 1);
  });
  return y;
}
