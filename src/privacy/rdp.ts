// Rényi differential privacy of the Poisson-subsampled Gaussian mechanism (each record, here each
// user, takes part independently with probability q; the sum of the participants' contributions,
// each clipped to L2 norm C, gets N(0, σ²C²) noise per coordinate), and its conversion to (ε, δ).
//
// The method is Mironov, Talwar & Zhang, "Rényi Differential Privacy of the Sampled Gaussian
// Mechanism" (2019): the RDP of order α is log(A_α)/(α − 1) with
//   integer α:     A_α = Σ_{k=0..α} C(α,k)·(1−q)^(α−k)·q^k·exp((k² − k)/(2σ²))   (their eq. (3))
//   fractional α:  A_α = A₀ + A₁, two infinite series whose terms carry
//                  ½·erfc((k − z₀)/(√2σ)) and ½·erfc((z₀ − (α−k))/(√2σ)), z₀ = σ²·log(1/q − 1) + ½
//                  (their Section 3.3), summed until the terms are negligible.
// Every sum is taken in log space (log-math.ts). The conversion to (ε, δ) is Balle et al.,
// "Hypothesis Testing Interpretations and Rényi Differential Privacy" (2020), Theorem 21:
//   ε = RDP(α) + log((α − 1)/α) − (log δ + log α)/(α − 1), minimised over the orders
// (the one Opacus's accountant uses, so that its published figures are reproduced).
import { logAdd, logErfc, logSub } from "./log-math.js";

/**
 * Opacus's default orders: 1.1, 1.2, …, 10.9 and 12, 13, …, 63. The minimum over a fixed grid
 * is what makes two accountants agree to the digit, so fedfacet uses the same one.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
]);

/** Once both of a fractional order's series' terms fall below e^(−30) relative, they stop. */
const NEGLIGIBLE_LOG_TERM = -30;
/** Terms of a fractional order's series before giving up (σ ≥ 0.1 needs a few hundred at most). */
const MAX_TERMS = 100_000;

/** Throws a RangeError naming `name` unless q ∈ (0, 1]. */
export function checkSampleRate(q: number, name = "sample rate"): void {
  if (!(q > 0 && q <= 1)) throw new RangeError(`${name} must be in (0, 1], got ${q}`);
}

/** Throws a RangeError naming `name` unless σ is a positive finite number. */
export function checkNoiseMultiplier(sigma: number, name = "noise multiplier"): void {
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new RangeError(`${name} must be a positive number, got ${sigma}`);
}

/** Throws a RangeError naming `name` unless δ ∈ (0, 1). */
export function checkDelta(delta: number, name = "delta"): void {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`${name} must be in (0, 1), got ${delta}`);
}

/** Throws a RangeError naming `name` unless steps is an integer ≥ 0. */
export function checkSteps(steps: number, name = "steps"): void {
  if (!(Number.isInteger(steps) && steps >= 0)) throw new RangeError(`${name} must be an integer >= 0, got ${steps}`);
}

function checkOrder(alpha: number): void {
  if (!(alpha > 1 && Number.isFinite(alpha))) throw new RangeError(`RDP order must be a finite number > 1, got ${alpha}`);
}

/** RDP of order α of ONE step of the subsampled Gaussian mechanism (sample rate q, noise multiplier σ). */
export function rdpSubsampledGaussian(q: number, sigma: number, alpha: number, sum: FractionalSum = "exact"): number {
  checkSampleRate(q);
  checkNoiseMultiplier(sigma);
  checkOrder(alpha);
  // without subsampling it is the Gaussian mechanism: α·Δ²/(2σ²Δ²)
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logMomentInteger(q, sigma, alpha) : logMomentFractional(q, sigma, alpha, sum);
  return logA / (alpha - 1);
}

/** log A_α for an integer α: a finite sum of positive terms. */
function logMomentInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVar = 2 * sigma * sigma;
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinom += Math.log((alpha - k + 1) / k);
    logA = logAdd(logA, logBinom + k * logQ + (alpha - k) * log1mQ + (k * k - k) / twoVar);
  }
  return logA;
}

/**
 * How a fractional order's series are summed. Their binomial coefficients C(α, i) alternate in sign
 * once i exceeds α. "exact" keeps the signs (Mironov et al.; Opacus and tensorflow-privacy: the
 * value of the integral that defines A_α, to ~1e-12 here). "bound" adds the terms' absolute values
 * (Google's dp-accounting since 2023): an upper bound, a little larger, that never subtracts.
 */
export type FractionalSum = "exact" | "bound";

/** log A_α for a fractional α: the two series of Mironov et al. Section 3.3. */
function logMomentFractional(q: number, sigma: number, alpha: number, sum: FractionalSum): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVar = 2 * sigma * sigma;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const scale = Math.SQRT2 * sigma;
  const a0 = new SignedLogSum();
  const a1 = new SignedLogSum();
  let logAbsBinom = 0; // log |C(α, 0)|
  let negative = false;
  let lastS0 = -Infinity;
  let lastS1 = -Infinity;
  for (let i = 0; i < MAX_TERMS; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i;
      logAbsBinom += Math.log(Math.abs(factor));
      if (factor < 0 && sum === "exact") negative = !negative;
    }
    const j = alpha - i;
    const logS0 = logAbsBinom + i * logQ + j * log1mQ + (i * i - i) / twoVar + Math.log(0.5) + logErfc((i - z0) / scale);
    const logS1 = logAbsBinom + j * logQ + i * log1mQ + (j * j - j) / twoVar + Math.log(0.5) + logErfc((z0 - j) / scale);
    a0.add(logS0, negative);
    a1.add(logS1, negative);
    const total = logAdd(a0.log(), a1.log());
    // stop once both terms shrink and are e^30 below the sum (the later ones shrink faster still)
    if (logS0 < lastS0 && logS1 < lastS1 && Math.max(logS0, logS1) < total + NEGLIGIBLE_LOG_TERM) return total;
    lastS0 = logS0;
    lastS1 = logS1;
  }
  throw new Error(`RDP: the series for order ${alpha} (q = ${q}, σ = ${sigma}) did not converge in ${MAX_TERMS} terms`);
}

/** A running sum of signed terms given as (log |term|, sign), kept as a log magnitude and a sign. */
class SignedLogSum {
  private mag = -Infinity;
  private negative = false;

  add(logTerm: number, negative: boolean): void {
    if (negative === this.negative) {
      this.mag = logAdd(this.mag, logTerm);
    } else if (logTerm > this.mag) {
      this.mag = logSub(logTerm, this.mag);
      this.negative = negative;
    } else {
      this.mag = logSub(this.mag, logTerm);
    }
  }

  /** log of the sum, which must be positive (A₀ and A₁ are integrals of positive functions). */
  log(): number {
    if (this.negative && this.mag > -Infinity) throw new Error("RDP: a fractional order's series summed to a negative value (rounding)");
    return this.mag;
  }
}

/** RDP at each order after `steps` compositions of the same step (RDP adds up over steps). */
export function rdpCurve(q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS, sum: FractionalSum = "exact"): Float64Array {
  checkSteps(steps);
  return Float64Array.from(orders, (a) => (steps === 0 ? (checkOrder(a), 0) : steps * rdpSubsampledGaussian(q, sigma, a, sum)));
}

export interface Epsilon {
  epsilon: number;
  /** The order at which the bound is tightest. */
  order: number;
}

/** The (ε, δ)-DP guarantee implied by RDP values at `orders` (Balle et al. 2020, minimised over orders). */
export function epsilonFromRdp(orders: readonly number[], rdp: ArrayLike<number>, delta: number): Epsilon {
  checkDelta(delta);
  if (orders.length === 0 || orders.length !== rdp.length) throw new RangeError(`epsilonFromRdp: ${orders.length} orders for ${rdp.length} RDP values`);
  // no step taken: nothing was released (the conversion alone would give a small positive bound)
  if (Array.prototype.every.call(rdp, (r: number) => r === 0)) return { epsilon: 0, order: orders[0]! };
  const logDelta = Math.log(delta);
  let best: Epsilon = { epsilon: Infinity, order: NaN };
  orders.forEach((a, i) => {
    checkOrder(a);
    const r = rdp[i]!;
    if (Number.isNaN(r) || r < 0) throw new RangeError(`epsilonFromRdp: RDP at order ${a} is ${r}`);
    const eps = r + Math.log1p(-1 / a) - (logDelta + Math.log(a)) / (a - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  // a negative bound says the mechanism is (0, δ)-DP; ε is never below 0
  return best.epsilon < 0 ? { epsilon: 0, order: best.order } : best;
}

/** ε after `steps` steps of the subsampled Gaussian mechanism, at failure probability δ. */
export function epsilonOf(q: number, sigma: number, steps: number, delta: number, orders: readonly number[] = DEFAULT_ORDERS): Epsilon {
  return epsilonFromRdp(orders, rdpCurve(q, sigma, steps, orders), delta);
}
