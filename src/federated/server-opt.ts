// How the coordinator turns a round's averages into the next global values. "avg" (METHOD.md,
// FedAvg) takes the averages as they are. "adam" is FedAdam (Reddi et al., "Adaptive Federated
// Optimization", 2021): the change the participants made, Δ = average − global, is a
// pseudo-gradient for a server-side Adam step, global += lr · m̂ / (√v̂ + eps), with moments kept
// across rounds; each value keeps its own step count, because a group expert only moves in rounds
// where somebody chose it.

export type ServerKind = "avg" | "adam";

export interface ServerOptions {
  optimizer: ServerKind;
  /** Server learning rate (adam). */
  lr: number;
  beta1: number;
  beta2: number;
  /** Reddi et al.'s τ: the adaptivity floor (1e-3 there). */
  eps: number;
}

export const SERVER_DEFAULTS: Readonly<ServerOptions> = { optimizer: "avg", lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-3 };

export class ServerOptimizer {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private readonly steps: Int32Array;

  constructor(size: number, private readonly opts: ServerOptions) {
    if (opts.optimizer !== "avg" && opts.optimizer !== "adam") throw new RangeError(`server optimizer must be avg or adam, got '${opts.optimizer}'`);
    const n = opts.optimizer === "adam" ? size : 0;
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
    this.steps = new Int32Array(n);
  }

  /** Moves global[from, to) towards sums[j]·scale, the round's averages. */
  apply(global: Float32Array, sums: Float64Array, from: number, to: number, scale: number): void {
    if (this.opts.optimizer === "avg") {
      for (let j = from; j < to; j++) global[j] = sums[j]! * scale;
      return;
    }
    const { lr, beta1, beta2, eps } = this.opts;
    const { m, v, steps } = this;
    for (let j = from; j < to; j++) {
      const delta = sums[j]! * scale - global[j]!;
      m[j] = beta1 * m[j]! + (1 - beta1) * delta;
      v[j] = beta2 * v[j]! + (1 - beta2) * delta * delta;
      const t = ++steps[j]!;
      const mHat = m[j]! / (1 - beta1 ** t);
      const vHat = v[j]! / (1 - beta2 ** t);
      global[j] = global[j]! + lr * (mHat / (Math.sqrt(vHat) + eps));
    }
  }

  /** The moments and step counts, for a checkpoint (empty for avg). */
  save(): { m: Float64Array; v: Float64Array; steps: Int32Array } {
    return { m: this.m, v: this.v, steps: this.steps };
  }

  restore(s: { m: Float64Array; v: Float64Array; steps: Int32Array }): void {
    if (s.m.length !== this.m.length || s.v.length !== this.v.length || s.steps.length !== this.steps.length) {
      throw new RangeError(`server optimizer state holds ${s.m.length} values, expected ${this.m.length}`);
    }
    this.m.set(s.m);
    this.v.set(s.v);
    this.steps.set(s.steps);
  }
}
