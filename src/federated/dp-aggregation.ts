// The coordinator's side of DP-FedAvg, free of any transport so that the in-process trainer and the
// network coordinator both call it: it adds the central noise to the round's summed client updates
// and to the routed counts, turns them into next-round values, and keeps the privacy accountant.
//
// Denominators (McMahan et al.'s fixed-denominator estimator): the shared sum is divided by the
// EXPECTED cohort size qN, never by the number of clients who came (data-dependent, so it would
// need its own noise). Expert (l, k) is divided by max(n̂_lk, qN/K), n̂ its noisy routed count: a
// function of released values only (no further privacy cost), close to the plain mean when many
// clients chose the expert, and never smaller than an even share of the cohort, so that a
// rarely chosen expert does not get its noise multiplied. The balance loss's shares n_k/N are the
// noisy counts (clamped at 0) over their sum per block.
import { RdpAccountant } from "../privacy/accountant.js";
import type { Epsilon } from "../privacy/rdp.js";
import { Rng } from "../util/rng.js";
import type { GroupLayout } from "./aggregate.js";
import { addGaussian, type NormalSource } from "./dp-client.js";
import { accountedNoise, checkDpConfig, COUNT_NOISE_FACTOR, type DpConfig } from "./dp-config.js";
import { deriveSeed, Stream } from "./seed.js";

/** A range of the [shared | group] vector and the factor that turns its sums into values. */
export interface ReleaseRange {
  from: number;
  to: number;
  scale: number;
}

export interface Release {
  ranges: ReleaseRange[];
  /** blocks × groups: next round's routing shares (empty without groups). */
  groupShare: Float64Array;
}

export interface DpAggregationOptions {
  /**
   * The release's normal draws: a run seed (the Rng of (seed, CentralNoise, round): the in-process
   * simulation), or the draws themselves (the network coordinator's keyed stream, which nobody
   * without its secret key can predict).
   */
  noise: number | NormalSource;
  /** N: every client that could be sampled. */
  population: number;
  /** q: each client's probability of taking part in a round. */
  rate: number;
  sharedSize: number;
  groupSize: number;
  layout: GroupLayout | null;
  /**
   * Secure rounds (local noise inside secure aggregation, secagg/noised-vector.ts): the sums, routed
   * counts included, arrive noised by the devices, and the release tops their noise up by this
   * many times the central noise's variance (σ²C² per delta, (λσ√L)² per count), so that the
   * released noise does not depend on how many devices took part (releaseTopUp).
   */
  topUp?: number;
}

export class DpAggregation {
  readonly accountant = new RdpAccountant();
  /** The noise multiplier the accountant composes (σ, less the counts' share). */
  private readonly accounted: number;

  constructor(readonly dp: DpConfig, private readonly o: DpAggregationOptions) {
    checkDpConfig(dp);
    if (!(o.rate > 0 && o.rate <= 1)) throw new RangeError(`DpAggregation: rate must be in (0, 1], got ${o.rate}`);
    if (!(Number.isInteger(o.population) && o.population >= 1)) throw new RangeError(`DpAggregation: population must be a positive integer, got ${o.population}`);
    this.accounted = accountedNoise(dp.noiseMultiplier, o.layout !== null);
  }

  /** ε spent so far (0 before the first round). */
  spent(): Epsilon {
    return this.accountant.epsilon(this.dp.delta);
  }

  /** ε after one more round, without taking it. */
  afterNextRound(): Epsilon {
    return this.accountant.epsilonAfter(this.o.rate, this.accounted, 1, this.dp.delta);
  }

  /** Null while one more round fits in the budget; otherwise why the run must stop. */
  budgetStop(): string | null {
    const next = this.afterNextRound().epsilon;
    return next > this.dp.epsilon ? `privacy budget: one more round would spend epsilon ${next.toFixed(4)} > ${this.dp.epsilon} (delta ${this.dp.delta})` : null;
  }

  /**
   * Releases round `round`: `total` holds Σ of the clients' clipped updates over [shared | group]
   * (in local mode, already noised by each client) and is overwritten with global·d + Σ + noise,
   * d the range's denominator, so that total·(1/d) are the round's new values; `routeCount` holds
   * the exact routed counts (blocks × groups). Composes the round into the accountant.
   */
  release(round: number, total: Float64Array, routeCount: ArrayLike<number>, participants: number, global: Float32Array): Release {
    const { sharedSize, groupSize, layout, population, rate, noise, topUp } = this.o;
    if (total.length !== sharedSize + groupSize || global.length !== total.length) throw new RangeError(`DpAggregation: ${total.length} sums and ${global.length} values, expected ${sharedSize + groupSize}`);
    const sigma = this.dp.noiseMultiplier;
    const rng = typeof noise === "number" ? new Rng(deriveSeed(noise, Stream.CentralNoise, round)) : noise;
    // in-process local mode: every client already added N(0, σ²C²), so the sum carries at least the
    // central noise; only the counts, which the in-process clients report exactly, are noised here,
    // as the sum of `participants` per-client draws (a single draw of √participants times the std).
    // Secure rounds: the devices' noise, topped up to a fixed variance.
    const central = sigma * this.dp.clip;
    const countCentral = COUNT_NOISE_FACTOR * sigma * Math.sqrt(layout?.blocks ?? 0);
    const [updateStd, countStd] =
      topUp !== undefined ? [Math.sqrt(topUp) * central, Math.sqrt(topUp) * countCentral]
      : this.dp.noise === "central" ? [central, countCentral]
      : [0, countCentral * Math.sqrt(participants)];
    // every coordinate, the alignment gaps between parameters included (nothing reads them)
    if (updateStd > 0) addGaussian(total, 0, total.length, updateStd, rng);
    const cohort = rate * population;
    const ranges: ReleaseRange[] = [{ from: 0, to: sharedSize, scale: 1 / cohort }];
    let groupShare = new Float64Array(0);
    if (layout) {
      const cells = layout.blocks * layout.groups;
      if (routeCount.length !== cells) throw new RangeError(`DpAggregation: ${routeCount.length} routed counts, expected ${cells}`);
      const noisy = Float64Array.from({ length: cells }, (_, c) => Math.max(0, routeCount[c]! + countStd * rng.normal()));
      groupShare = new Float64Array(cells);
      for (let l = 0; l < layout.blocks; l++) {
        const row = noisy.subarray(l * layout.groups, (l + 1) * layout.groups);
        const sum = row.reduce((s, v) => s + v, 0);
        row.forEach((v, k) => (groupShare[l * layout.groups + k] = sum > 0 ? v / sum : 1 / layout.groups));
      }
      for (let cell = 0; cell < cells; cell++) {
        const from = sharedSize + layout.start[cell]!;
        ranges.push({ from, to: from + layout.size[cell]!, scale: 1 / Math.max(noisy[cell]!, cohort / layout.groups) });
      }
    }
    for (const { from, to, scale } of ranges) {
      const d = 1 / scale;
      for (let j = from; j < to; j++) total[j] = global[j]! * d + total[j]!;
    }
    this.compose();
    return { ranges, groupShare };
  }

  /**
   * Composes one round into the accountant. release() calls it; alone it stands for a round that
   * released nothing (an aborted secure round under DP): counted anyway, conservatively, so that a
   * run's rounds and the accountant's steps stay one to one.
   */
  compose(): void {
    this.accountant.step(this.o.rate, this.accounted);
  }

  /** The accountant's state, for a checkpoint. */
  save(): Float64Array {
    return this.accountant.save();
  }

  restore(rdp: Float64Array): void {
    this.accountant.restore(rdp);
  }
}
