// The tape: every differentiable op run while recording appends its output and a closure that
// accumulates the input gradients from the output's gradient. backward() seeds the output's
// gradient and runs the closures in reverse order of recording, which is a reverse topological
// order because an op can only consume tensors that already exist (micrograd's idea, without
// the graph search). Activations, saved tensors and activation gradients all come from one arena;
// reset() after the optimiser step makes them all invalid at once.
import type { Arena } from "../kernels/arena.js";
import type { Backend } from "../kernels/backend.js";
import { NONE } from "../kernels/kernels.js";
import { sizeOf, Tensor } from "./tensor.js";

export class Tape {
  private readonly outs: Tensor[] = [];
  private readonly fns: (() => void)[] = [];
  /** When false (evaluation), ops compute values only: nothing is recorded, nothing needs grads. */
  recording = true;

  constructor(readonly be: Backend, readonly arena: Arena) {}

  /** An uninitialised activation of `shape` that needs gradients when any input does. */
  output(shape: readonly number[], ...inputs: Tensor[]): Tensor {
    const n = sizeOf(shape);
    for (const t of inputs) if (t.dtype !== "f32") throw new TypeError(`Tape.output: an i32 tensor [${t.shape.join(", ")}] is not a differentiable input`);
    const needs = this.recording && inputs.some((t) => t.requiresGrad);
    return new Tensor(this.arena.alloc(n), shape, NONE, needs);
  }

  /** A float tensor that takes no gradient (inputs, masks, labels), holding `data`. */
  constant(data: ArrayLike<number>, shape: readonly number[] = [data.length]): Tensor {
    const t = new Tensor(this.arena.alloc(sizeOf(shape)), shape);
    if (t.size !== data.length) throw new RangeError(`Tape.constant: ${data.length} values for shape [${shape.join(", ")}]`);
    this.be.f.set(data, t.offset);
    return t;
  }

  /** An i32 index tensor holding `data`. */
  indices(data: ArrayLike<number>, shape: readonly number[] = [data.length]): Tensor {
    const t = new Tensor(this.arena.alloc(sizeOf(shape)), shape, NONE, false, "i32");
    if (t.size !== data.length) throw new RangeError(`Tape.indices: ${data.length} values for shape [${shape.join(", ")}]`);
    this.be.i.set(data, t.offset);
    return t;
  }

  /**
   * A view of `size(shape)` elements of `base` starting `delta` elements in, sharing its memory
   * and its gradient buffer (allocated now if base has none yet), so no op needs to be recorded.
   */
  view(base: Tensor, delta: number, shape: readonly number[]): Tensor {
    const n = sizeOf(shape);
    if (!Number.isInteger(delta) || delta < 0 || delta + n > base.size) {
      throw new RangeError(`Tape.view: [${delta}, ${delta + n}) is outside a tensor of ${base.size}`);
    }
    const withGrad = this.recording && base.requiresGrad;
    return new Tensor(base.offset + delta, shape, withGrad ? this.grad(base) + delta : NONE, withGrad, base.dtype);
  }

  /** Appends an op's backward closure; a no-op when the output needs no gradient. */
  record(out: Tensor, backward: () => void): void {
    if (!out.requiresGrad) return;
    this.outs.push(out);
    this.fns.push(backward);
  }

  /** The gradient buffer of t, taken zeroed from the arena on first use (may allocate). */
  grad(t: Tensor): number {
    if (t.grad === NONE) {
      if (t.dtype !== "f32") throw new TypeError("Tape.grad: index tensors have no gradient");
      t.grad = this.arena.zeros(t.size);
    }
    return t.grad;
  }

  /**
   * Back-propagates from `out`: its gradient is set to `seed` (default 1, for a scalar loss), then
   * every recorded closure runs in reverse. Closures whose output received no gradient are
   * skipped (their contribution would be zero). The tape is empty afterwards; the gradients stay
   * readable until reset().
   */
  backward(out: Tensor, seed?: ArrayLike<number>): void {
    if (!out.requiresGrad) throw new Error("Tape.backward: the output does not depend on anything that requires gradients");
    const g = this.grad(out);
    if (seed === undefined) {
      if (out.size !== 1) throw new RangeError(`Tape.backward: a seed is needed for a non-scalar output of size ${out.size}`);
      this.be.f[g] = 1;
    } else {
      if (seed.length !== out.size) throw new RangeError(`Tape.backward: seed of ${seed.length} for an output of ${out.size}`);
      this.be.f.set(seed, g);
    }
    for (let k = this.fns.length - 1; k >= 0; k--) if (this.outs[k]!.grad !== NONE) this.fns[k]!();
    this.clear();
  }

  /** Forgets the recorded ops and invalidates every arena tensor (after the optimiser step). */
  reset(): void {
    this.clear();
    this.arena.reset();
  }

  /** Number of ops recorded since the last backward or reset. */
  get length(): number {
    return this.fns.length;
  }

  private clear(): void {
    this.outs.length = 0;
    this.fns.length = 0;
  }
}
