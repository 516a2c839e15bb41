// Plain SGD with decoupled weight decay over a ParamStore's partition buffers: p ← (1 − lr·wd)·p − lr·g,
// one axpy (and one scale) per partition. The clients' optimiser when the server adapts the steps
// (FedAdam), where a client's update should be its gradient, not Adam's sign-like first step.
import type { ParamStore, Partition } from "../autograd/params.js";
import { PARTITIONS } from "../autograd/params.js";

export interface SgdOptions {
  lr: number;
  weightDecay: number;
}

export class Sgd {
  private readonly partitions: Partition[];
  /** Multiplier of opts.lr for the next steps (a schedule over rounds sets it, schedule.ts). */
  lrScale = 1;

  constructor(private readonly store: ParamStore, private readonly opts: SgdOptions, partitions: readonly Partition[] = PARTITIONS) {
    if (!(opts.lr > 0 && Number.isFinite(opts.lr))) throw new RangeError(`Sgd: lr must be positive, got ${opts.lr}`);
    if (!(opts.weightDecay >= 0 && Number.isFinite(opts.weightDecay))) throw new RangeError(`Sgd: weightDecay must be >= 0, got ${opts.weightDecay}`);
    this.partitions = partitions.filter((p) => store.buffer(p).size > 0);
  }

  step(): void {
    const be = this.store.be;
    const { weightDecay } = this.opts;
    const lr = this.opts.lr * this.lrScale;
    for (const p of this.partitions) {
      const b = this.store.buffer(p);
      if (weightDecay > 0) be.scale(b.values, b.size, 1 - lr * weightDecay);
      be.axpy(b.values, b.grads, b.size, -lr);
    }
  }

  /** SGD keeps no state. */
  reset(): void {}
}
