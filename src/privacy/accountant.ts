// The privacy spent by a run so far, as RDP at a fixed set of orders: composition is adding the
// per-step RDP, so the state is one number per order and a checkpoint carries it exactly.
import { checkDelta, checkSampleRate, checkSteps, DEFAULT_ORDERS, epsilonFromRdp, epsilonOf, rdpCurve, type Epsilon } from "./rdp.js";

export class RdpAccountant {
  readonly orders: readonly number[];
  private readonly rdp: Float64Array;

  constructor(orders: readonly number[] = DEFAULT_ORDERS) {
    this.orders = orders;
    this.rdp = new Float64Array(orders.length);
  }

  /** Composes `steps` steps of the subsampled Gaussian mechanism (rate q, noise multiplier σ). */
  step(q: number, sigma: number, steps = 1): void {
    const add = rdpCurve(q, sigma, steps, this.orders);
    for (let i = 0; i < add.length; i++) this.rdp[i] += add[i]!;
  }

  /** The (ε, δ) guarantee of everything composed so far. */
  epsilon(delta: number): Epsilon {
    return epsilonFromRdp(this.orders, this.rdp, delta);
  }

  /** ε if `steps` more steps (rate q, σ) were taken, without taking them. */
  epsilonAfter(q: number, sigma: number, steps: number, delta: number): Epsilon {
    const add = rdpCurve(q, sigma, steps, this.orders);
    return epsilonFromRdp(this.orders, add.map((r, i) => r + this.rdp[i]!), delta);
  }

  /** The RDP spent at each order (a copy, for a checkpoint). */
  save(): Float64Array {
    return this.rdp.slice();
  }

  restore(rdp: Float64Array): void {
    if (rdp.length !== this.rdp.length) throw new RangeError(`RdpAccountant: the saved state has ${rdp.length} orders, expected ${this.rdp.length}`);
    for (const r of rdp) if (!(r >= 0)) throw new RangeError(`RdpAccountant: the saved state holds RDP ${r}`);
    this.rdp.set(rdp);
  }
}

/** The search brackets σ in [SIGMA_MIN, SIGMA_MAX]: beyond them no useful training exists. */
const SIGMA_MIN = 1e-2;
const SIGMA_MAX = 1e4;

/**
 * The smallest noise multiplier (to a relative 1e-4) whose ε after `steps` steps at rate q is at
 * most `targetEpsilon`: a bisection on σ (ε falls as σ grows) that only ever returns a σ it has
 * checked to meet the target, so the calibrated run never overshoots its budget.
 */
export function calibrateNoise(targetEpsilon: number, delta: number, q: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): number {
  if (!(targetEpsilon > 0 && Number.isFinite(targetEpsilon))) throw new RangeError(`target epsilon must be a positive number, got ${targetEpsilon}`);
  checkDelta(delta);
  checkSampleRate(q);
  checkSteps(steps);
  if (steps < 1) throw new RangeError("steps must be at least 1 to calibrate the noise");
  const eps = (sigma: number) => epsilonOf(q, sigma, steps, delta, orders).epsilon;
  let hi = SIGMA_MAX;
  if (eps(hi) > targetEpsilon) throw new RangeError(`epsilon ${targetEpsilon} is out of reach: even noise multiplier ${SIGMA_MAX} gives ${eps(hi)} after ${steps} steps (delta ${delta})`);
  let lo = SIGMA_MIN;
  if (eps(lo) <= targetEpsilon) return lo;
  // invariant: eps(lo) > target >= eps(hi)
  while (hi / lo > 1 + 1e-4) {
    const mid = Math.sqrt(lo * hi);
    if (eps(mid) <= targetEpsilon) hi = mid;
    else lo = mid;
  }
  return hi;
}
