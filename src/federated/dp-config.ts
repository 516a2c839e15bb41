// User-level differential privacy for federated training (DP-FedAvg, McMahan et al., "Learning
// Differentially Private Recurrent Language Models", 2018): what a run's DP settings are, how the
// noise is calibrated to a budget, and how clients are sampled for the accountant to apply.
//
// The mechanism released each round, per block l of an MRFF model with K experts:
//   - Σ over the round's clients of their update Δ (trained − global over the shared partition and
//     the ONE expert per block each client chose, the rest zero), each clipped to L2 norm C, plus
//     N(0, σ²C²) on every coordinate of the shared partition and of every expert, chosen or not
//     (so a noiseless expert cannot reveal that nobody chose it);
//   - the routed counts n_lk, plus N(0, (λσ√L)²) each. A client adds 1 to one count per block,
//     L in all, so the counts' sensitivity is √L; λ = COUNT_NOISE_FACTOR makes their noise
//     λ times the update's in units of sensitivity.
// Stacking the two parts scaled by their sensitivities (C and λ√L) gives one Gaussian mechanism of
// sensitivity √(1 + 1/λ²) and noise σ: the accountant's noise multiplier is σ/√(1 + 1/λ²).
// Without groups (fedsasrec) there are no counts and the multiplier is σ.
import { calibrateNoise } from "../privacy/accountant.js";
import { checkDelta } from "../privacy/rdp.js";
import { deriveSeed, Stream } from "./seed.js";
import { Rng } from "../util/rng.js";
import type { Participation } from "./sample.js";

/** Where the Gaussian noise is added: to the sum at the coordinator, or by each client to its own update. */
export type DpNoise = "central" | "local";
export const DP_NOISES: readonly DpNoise[] = ["central", "local"];

export interface DpConfig {
  /** The (ε, δ) budget of the run; training stops before a round that would exceed it. */
  epsilon: number;
  delta: number;
  /** L2 bound C of one client's update. */
  clip: number;
  noise: DpNoise;
  /**
   * σ: noise std / C. Calibrated once, when the run starts, for its planned rounds (planDp), and kept
   * for the whole run, so that a resumed run adds the same noise and stops at the budget.
   */
  noiseMultiplier: number;
}

/** The DP settings a user gives; planDp adds the noise multiplier. */
export type DpRequest = Omit<DpConfig, "noiseMultiplier">;

/**
 * λ: the routed counts' noise in units of their sensitivity, relative to the update's. At 4 the
 * counts cost the update 3% more noise (√(1 + 1/16)), and a count's noise std is 4σ√L (about 16
 * at σ = 2.9, L = 2): enough for the balance loss and the experts' denominators.
 */
export const COUNT_NOISE_FACTOR = 4;

/**
 * Default clip bound C. With the reference local optimiser (one Adam step at lr 0.1) every
 * coordinate with a gradient moves by about lr, so an update's norm is about lr·√(parameters
 * touched) and varies little between clients: 17–19 on KuaiSAR-R with the reference MRFF (median
 * 18 in round 1). C at that median leaves the non-private dynamics almost unchanged; a smaller C
 * scales every update down alike (a smaller step, with proportionally smaller noise).
 */
export const DEFAULT_CLIP = 18;

/** The accountant's noise multiplier for a run that releases routed counts (groups) or not. */
export function accountedNoise(sigma: number, groups: boolean): number {
  return groups ? sigma / Math.sqrt(1 + 1 / (COUNT_NOISE_FACTOR * COUNT_NOISE_FACTOR)) : sigma;
}

/** The Poisson sampling rate a participation setting stands for (DP runs take a ratio). */
export function samplingRate(p: Participation): number {
  if (!("ratio" in p)) throw new RangeError("differential privacy needs participation as a ratio (--client-ratio), not a count: the accountant's sampling rate is that ratio");
  return p.ratio;
}

/** Throws a RangeError naming the first DP setting out of range. */
export function checkDpRequest(dp: DpRequest): void {
  if (!(dp.epsilon > 0 && Number.isFinite(dp.epsilon))) throw new RangeError(`dp epsilon must be a positive number, got ${dp.epsilon}`);
  checkDelta(dp.delta, "dp delta");
  if (!(dp.clip > 0 && Number.isFinite(dp.clip))) throw new RangeError(`dp clip must be a positive number, got ${dp.clip}`);
  if (!DP_NOISES.includes(dp.noise)) throw new RangeError(`dp noise must be one of ${DP_NOISES.join(", ")}, got '${dp.noise}'`);
}

export function checkDpConfig(dp: DpConfig): void {
  checkDpRequest(dp);
  if (!(dp.noiseMultiplier > 0 && Number.isFinite(dp.noiseMultiplier))) throw new RangeError(`dp noiseMultiplier must be a positive number, got ${dp.noiseMultiplier}`);
}

/** The run's DP settings with σ calibrated so that `rounds` rounds at rate q spend at most ε. */
export function planDp(req: DpRequest, q: number, rounds: number, groups: boolean): DpConfig {
  checkDpRequest(req);
  const accounted = calibrateNoise(req.epsilon, req.delta, q, rounds);
  // σ is rounded up to 6 significant digits so that it reads well in a report and still meets ε
  const sigma = ceilDigits(accounted / accountedNoise(1, groups), 6);
  return { ...req, noiseMultiplier: sigma };
}

function ceilDigits(x: number, digits: number): number {
  const p = 10 ** (digits - 1 - Math.floor(Math.log10(x)));
  return Math.ceil(x * p) / p;
}

/**
 * Poisson sampling, which the accountant's analysis assumes: each client takes part independently
 * with probability q, so the cohort's size varies (and may be 0). Ascending ids; all at q = 1.
 */
export function poissonSample(clients: number, q: number, seed: number, round: number): Int32Array {
  return poissonSampleFrom(clients, q, new Rng(deriveSeed(seed, Stream.Sample, round)));
}

/** poissonSample from the uniforms in [0, 1) of `source` (the network coordinator's keyed stream). */
export function poissonSampleFrom(clients: number, q: number, source: { next(): number }): Int32Array {
  if (q >= 1) return Int32Array.from({ length: clients }, (_, i) => i);
  const ids: number[] = [];
  for (let i = 0; i < clients; i++) if (source.next() < q) ids.push(i);
  return Int32Array.from(ids);
}
