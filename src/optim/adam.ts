// Adam (AdamW: decoupled weight decay) over a ParamStore's flat partition buffers: one kernel call
// per partition per step, whatever the number of tensors. The moments live in backend memory with
// the partition's layout. METHOD.md's reference creates a fresh optimiser for every client in every
// round; reset() gives that without reallocating.
import type { Partition, ParamStore } from "../autograd/params.js";
import { PARTITIONS } from "../autograd/params.js";

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (0: plain Adam). */
  weightDecay: number;
}

export const ADAM_DEFAULTS: Readonly<Omit<AdamOptions, "lr">> = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

interface Moments {
  partition: Partition;
  m: number;
  v: number;
}

export class Adam {
  private readonly moments: Moments[];
  /** Steps taken since construction or the last reset (the bias correction's t). */
  private t = 0;
  /** Multiplier of opts.lr for the next steps (a schedule over rounds sets it, schedule.ts). */
  lrScale = 1;

  /** Optimises the given partitions of `store` (default: all of them). */
  constructor(
    private readonly store: ParamStore,
    private readonly opts: AdamOptions,
    partitions: readonly Partition[] = PARTITIONS,
  ) {
    checkAdam(opts);
    const be = store.be;
    this.moments = partitions
      .filter((p) => store.buffer(p).size > 0)
      .map((partition) => ({ partition, m: be.alloc(store.buffer(partition).size), v: be.alloc(store.buffer(partition).size) }));
  }

  /** One step from the gradients currently in the store. */
  step(): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const lr = this.opts.lr * this.lrScale;
    const be = this.store.be;
    this.t++;
    for (const { partition, m, v } of this.moments) {
      const b = this.store.buffer(partition);
      be.adamStep(b.values, b.grads, m, v, b.size, lr, beta1, beta2, eps, weightDecay, this.t);
    }
  }

  /** Forgets the moments and the step count: the next step is a first step again. */
  reset(): void {
    const f = this.store.be.f;
    for (const { partition, m, v } of this.moments) {
      const n = this.store.buffer(partition).size;
      f.fill(0, m, m + n);
      f.fill(0, v, v + n);
    }
    this.t = 0;
  }

  get steps(): number {
    return this.t;
  }

  /** The moments (m then v of each partition, in order) and the step count, for a checkpoint. */
  save(): { steps: number; moments: Float32Array } {
    const out = new Float32Array(this.stateSize());
    this.writeMoments(out, 0);
    return { steps: this.t, moments: out };
  }

  /** Restores what save() returned. */
  load(state: { steps: number; moments: Float32Array }): void {
    if (state.moments.length !== this.stateSize()) throw new RangeError(`Adam.load: ${state.moments.length} values, expected ${this.stateSize()}`);
    this.readMoments(state.moments, 0, state.steps);
  }

  /** Writes the moments as save() lays them out into out[at, at + stateSize()) (no allocation). */
  writeMoments(out: Float32Array, at: number): void {
    const f = this.store.be.f;
    for (const { partition, m, v } of this.moments) {
      const n = this.store.buffer(partition).size;
      out.set(f.subarray(m, m + n), at);
      out.set(f.subarray(v, v + n), at + n);
      at += 2 * n;
    }
  }

  /** Reads moments laid out as writeMoments writes them from src[at, ...) and sets the step count. */
  readMoments(src: Float32Array, at: number, steps: number): void {
    if (!(Number.isInteger(steps) && steps >= 0)) throw new RangeError(`Adam: step count must be an integer >= 0, got ${steps}`);
    if (at + this.stateSize() > src.length) throw new RangeError(`Adam: ${src.length - at} values from ${at}, expected ${this.stateSize()}`);
    const f = this.store.be.f;
    for (const { partition, m, v } of this.moments) {
      const n = this.store.buffer(partition).size;
      f.set(src.subarray(at, at + n), m);
      f.set(src.subarray(at + n, at + 2 * n), v);
      at += 2 * n;
    }
    this.t = steps;
  }

  dispose(): void {
    for (const { m, v } of this.moments) {
      this.store.be.free(m);
      this.store.be.free(v);
    }
    this.moments.length = 0;
  }

  /** Values of the moments: 2 × the optimised partitions' sizes. */
  stateSize(): number {
    return this.moments.reduce((s, { partition }) => s + 2 * this.store.buffer(partition).size, 0);
  }
}

function checkAdam(o: AdamOptions): void {
  const bad = (name: string, v: number) => new RangeError(`Adam: ${name} must be ${name === "lr" ? "positive" : "in [0, 1)"}, got ${v}`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw bad("lr", o.lr);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) throw bad("beta1", o.beta1);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) throw bad("beta2", o.beta2);
  if (!(o.eps > 0)) throw new RangeError(`Adam: eps must be positive, got ${o.eps}`);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) throw new RangeError(`Adam: weightDecay must be >= 0, got ${o.weightDecay}`);
}
