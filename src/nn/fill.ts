// Input tensors filled element by element straight into kernel memory (gathered field codes,
// permutations, the labels of the scored slots), so that a training step builds no JS arrays.
import { NONE } from "../kernels/kernels.js";
import type { Tape } from "../autograd/tape.js";
import { sizeOf, Tensor } from "../autograd/tensor.js";

/** An i32 tensor of `shape` whose element j is at(j). */
export function indexTensor(tp: Tape, shape: readonly number[], at: (j: number) => number): Tensor {
  const n = sizeOf(shape);
  const t = new Tensor(tp.arena.alloc(n), shape, NONE, false, "i32");
  // read the view after the allocation: growing memory detaches the previous one
  const iv = tp.be.i;
  for (let j = 0; j < n; j++) iv[t.offset + j] = at(j);
  return t;
}

/** A float constant (no gradient) of `shape` whose element j is at(j). */
export function floatTensor(tp: Tape, shape: readonly number[], at: (j: number) => number): Tensor {
  const n = sizeOf(shape);
  const t = new Tensor(tp.arena.alloc(n), shape);
  const f = tp.be.f;
  for (let j = 0; j < n; j++) f[t.offset + j] = at(j);
  return t;
}
