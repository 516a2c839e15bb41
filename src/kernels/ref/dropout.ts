// Reference (oracle) for assembly/dropout.ts: the host's own generator and the draw-and-compare
// that autograd's dropout made in JS before the kernel existed.
import { Rng } from "../../util/rng.js";
import type { RefMem } from "./mem.js";

export function dropoutMask(m: RefMem, state: number, out: number, n: number, p: number): void {
  const rng = new Rng(0);
  rng.setState(m.i.subarray(state, state + 4));
  const keep = 1 / (1 - p);
  const f = m.f;
  for (let j = 0; j < n; j++) f[out + j] = rng.next() < p ? 0 : keep;
  m.i.set(rng.getState(), state);
}
