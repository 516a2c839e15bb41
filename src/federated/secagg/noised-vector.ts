// Differential privacy inside secure aggregation (distributed DP-FedAvg): each device clips its
// update to L2 norm C, adds its share of the Gaussian noise to every coordinate of the padded
// secure vector (shared, ALL K experts of every block, the one-hot routed counts), and only then
// quantises into the ring. The coordinator unmasks the sum of r ≥ T such vectors (T the round's
// threshold: fewer aborts the attempt), so it only ever sees a sum that carries at least the
// calibrated noise σC, none of it its own.
//
// Per-device noise: std σC/√T on the deltas and λσ√L/√T on the counts (λ = COUNT_NOISE_FACTOR,
// L blocks), so the sum of r ≥ T devices has std σC·√(r/T) ≥ σC and λσ√L·√(r/T): the accountant's
// σ is a lower bound whatever the number of reporters, the coordinator's own view included.
//
// Release top-up. Left at σC·√(r/T), the released noise would tell anyone who reads the model the
// number r of survivors (the default MRFF's ~70,500 coordinates estimate a variance with a standard
// error of 0.53%), and given r, a client's presence is no longer an add/remove of one update under fixed noise, which is what the
// subsampled Gaussian analysis assumes. So after unmasking, the coordinator adds N(0, (ρ − r/T)σ²C²)
// per delta and N(0, (ρ − r/T)(λσ√L)²) per count (releaseTopUp), from its secret key: every
// completed round's release carries exactly √ρ·σC, whoever and however many took part. ρ =
// RELEASE_VARIANCE must bound r/T for every round that can complete: with the majority threshold
// T = max(2, ⌊n/2⌋ + 1) and r ≤ n, n/T is 3/2 at n = 3, 2k/(k+1) at n = 2k and (2k+1)/(k+1) at
// n = 2k+1 (k ≥ 2): below 2 for every n, tending to it. A fixed --secagg-threshold has no such
// bound (n/T grows with the cohort), so DP runs refuse it.
//
// Range: a delta coordinate is at most C in magnitude (L2 clip), and a Box–Muller draw from 53-bit
// uniforms is at most √(2·ln 2^53) ≈ 8.58 standard deviations, so every noised value lies within
// B = C + NOISE_TAIL·std (counts: 1 + NOISE_TAIL·countStd): the quantiser never clips a noised value.
// Quantisation (quantise.ts) rounds to the nearest multiple of B/Q, Q = ⌊(2^31 − 1)/n⌋ for a cohort
// of n: the dequantised sum of r vectors is within r·B/(2Q) of the real-valued sum of the noised
// vectors, per coordinate.
//
// Loss and sample counts are withheld (sent as 0): their sums are not noised, and the coordinator
// must learn nothing un-noised. Browser-safe (WebCrypto only).
import { COUNT_NOISE_FACTOR } from "../dp-config.js";
import { clipUpdate } from "../dp-update.js";
import { addGaussian, type NormalSource } from "../dp-client.js";
import type { CohortSum } from "../aggregate.js";
import { dequantiseSum, quantiseInto, type QuantSpec } from "./quantise.js";
import { boxMuller } from "../../util/box-muller.js";
import { bodyLength, secureLength, type SecureLayout, type SecureUpdate } from "./update-vector.js";

/** Standard deviations of noise the range leaves room for (above Box–Muller's 8.58 ceiling). */
export const NOISE_TAIL = 9;

/** ρ: every completed DP secure round's released noise variance, in units of σ²C² (counts: (λσ√L)²). */
export const RELEASE_VARIANCE = 2;

/**
 * The variance the coordinator adds to a DP secure round's unmasked sum, in units of σ²C² (counts:
 * (λσ√L)²): ρ − r/T for r survivors of a round with threshold T. A RangeError if r/T is not in
 * [1, ρ) (a round below its threshold, or a threshold that is not the majority one).
 */
export function releaseTopUp(survivors: number, threshold: number): number {
  const carried = survivors / threshold;
  if (!(Number.isInteger(survivors) && Number.isInteger(threshold) && threshold >= 1 && carried >= 1 && carried < RELEASE_VARIANCE)) {
    throw new RangeError(`releaseTopUp: ${survivors} survivors of a round with threshold ${threshold} carry ${carried} of the release's noise variance, outside [1, ${RELEASE_VARIANCE})`);
  }
  return RELEASE_VARIANCE - carried;
}

/** What a device needs of the run's DP settings: the clip bound C and the noise multiplier σ. */
export interface DeviceDp {
  clip: number;
  noiseMultiplier: number;
}

/** One device's noise and the quantisation ranges of a DP secure round. */
export interface NoisedSpec {
  /** Std of the noise on every delta coordinate: σC/√T. */
  std: number;
  /** Std of the noise on every routed count: λσ√L/√T (0 without groups). */
  countStd: number;
  /** Deltas: bound C + NOISE_TAIL·std (f32, as the task carries it), for a cohort of n. */
  values: QuantSpec;
  /** Counts: bound 1 + NOISE_TAIL·countStd. */
  counts: QuantSpec;
}

/** The spec of a round with threshold T, `blocks` MoE blocks (0: no groups) and a cohort of n. */
export function noisedSpec(dp: DeviceDp, threshold: number, blocks: number, clients: number): NoisedSpec {
  if (!(dp.clip > 0 && Number.isFinite(dp.clip))) throw new RangeError(`noisedSpec: clip must be a positive number, got ${dp.clip}`);
  if (!(dp.noiseMultiplier > 0 && Number.isFinite(dp.noiseMultiplier))) throw new RangeError(`noisedSpec: noise multiplier must be a positive number, got ${dp.noiseMultiplier}`);
  if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= clients)) throw new RangeError(`noisedSpec: threshold ${threshold} for a cohort of ${clients}`);
  if (!(Number.isInteger(blocks) && blocks >= 0)) throw new RangeError(`noisedSpec: blocks must be an integer >= 0, got ${blocks}`);
  const root = Math.sqrt(threshold);
  const std = (dp.noiseMultiplier * dp.clip) / root;
  const countStd = (COUNT_NOISE_FACTOR * dp.noiseMultiplier * Math.sqrt(blocks)) / root;
  // rounded UP to f32 so that both ends quantise with the bound the task frame carries
  return { std, countStd, values: { bound: f32Up(dp.clip + NOISE_TAIL * std), clients }, counts: { bound: f32Up(1 + NOISE_TAIL * countStd), clients } };
}

/**
 * The device's real-valued vector: [shared | group (the chosen experts in place, 0 elsewhere) |
 * one-hot counts], the deltas clipped jointly to L2 norm C (copies: `u` is left as it is), then
 * noised on every element (alignment gaps and unchosen experts included, so nothing in the sum
 * depends on routing without noise on it).
 */
export function noisedVector(u: SecureUpdate, layout: SecureLayout, dp: DeviceDp, spec: NoisedSpec, normal: NormalSource): Float64Array {
  const { shared: S, group: G, experts: lay } = layout;
  if (u.shared.length !== S) throw new RangeError(`noisedVector: shared has ${u.shared.length} values, the layout ${S}`);
  const blocks = lay?.blocks ?? 0;
  if (u.experts.length !== blocks || (lay && u.routes.length !== blocks)) throw new RangeError(`noisedVector: ${u.experts.length} experts and ${u.routes.length} routes for ${blocks} blocks`);
  const shared = u.shared.slice();
  const experts = u.experts.map((e) => e.slice());
  clipUpdate([shared, ...experts], dp.clip);
  const out = new Float64Array(bodyLength(layout));
  out.set(shared);
  if (lay) {
    for (let l = 0; l < blocks; l++) {
      const k = u.routes[l]!;
      if (!(Number.isInteger(k) && k >= 0 && k < lay.groups)) throw new RangeError(`noisedVector: route of block ${l} is ${k}, not in [0, ${lay.groups})`);
      const cell = l * lay.groups + k;
      if (experts[l]!.length !== lay.size[cell]) throw new RangeError(`noisedVector: expert of block ${l} has ${experts[l]!.length} values, expert (${l}, ${k}) ${lay.size[cell]}`);
      out.set(experts[l]!, S + lay.start[cell]!);
      out[S + G + cell] = 1;
    }
  }
  addGaussian(out, 0, S + G, spec.std, normal);
  if (lay) addGaussian(out, S + G, blocks * lay.groups, spec.countStd, normal);
  return out;
}

/** The secure vector of a noised vector: deltas and counts quantised by their specs, loss and samples withheld (0). */
export function quantiseNoised(v: Float64Array, layout: SecureLayout, spec: NoisedSpec): Uint32Array {
  const n = bodyLength(layout);
  if (v.length !== n) throw new RangeError(`quantiseNoised: ${v.length} values, the layout ${n}`);
  const out = new Uint32Array(secureLength(layout));
  const deltas = layout.shared + layout.group;
  quantiseInto(v.subarray(0, deltas), spec.values, out, 0, "noised delta");
  quantiseInto(v.subarray(deltas), spec.counts, out, deltas, "noised count");
  return out;
}

/**
 * The noised sums of `count` quantised vectors from their unmasked sum: real-valued deltas and
 * counts (noisy, not integers), loss and samples 0 (withheld). A RangeError if it cannot be one.
 */
export function unpackNoisedSum(sum: Uint32Array, layout: SecureLayout, spec: NoisedSpec, count: number): CohortSum {
  if (sum.length !== secureLength(layout)) throw new RangeError(`unpackNoisedSum: ${sum.length} elements, the layout ${secureLength(layout)}`);
  const { shared: S, group: G } = layout;
  const n = bodyLength(layout);
  if (sum[n] !== 0 || sum[n + 1] !== 0) throw new RangeError("unpackNoisedSum: loss and samples must be withheld (0) under differential privacy");
  return {
    clients: count,
    shared: dequantiseSum(sum, spec.values, count, 0, S),
    group: dequantiseSum(sum, spec.values, count, S, G),
    counts: dequantiseSum(sum, spec.counts, count, S + G, n - S - G),
    noisyCounts: true,
    loss: 0,
    samples: 0,
  };
}

/**
 * Standard normal draws from WebCrypto (Box–Muller over 53-bit uniforms in (0, 1]): the noise must
 * be unpredictable to the coordinator, so no seeded generator (a 32-bit seed could be searched).
 */
export function cryptoNormal(): NormalSource {
  const words = new Uint32Array(4096);
  let at = words.length;
  return boxMuller(() => {
    if (at + 2 > words.length) {
      globalThis.crypto.getRandomValues(words);
      at = 0;
    }
    // 53 bits: 21 of one word, 32 of the next; +1 keeps it in (0, 1] so that the log is finite
    const hi = words[at++]! >>> 11;
    const lo = words[at++]!;
    return (hi * 2 ** 32 + lo + 1) / 2 ** 53;
  });
}

/** The smallest f32 at or above x (so that a bound sent as f32 is never below the one computed). */
function f32Up(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  const bits = new Float32Array([f]);
  new Uint32Array(bits.buffer)[0]! += 1;
  return bits[0]!;
}
