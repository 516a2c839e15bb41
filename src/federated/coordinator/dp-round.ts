// DP-FedAvg in the network coordinator: the in-process pieces (DpAggregation's noise, denominators
// and RDP accountant; poissonSample) applied to rounds that clients join over the network.
//
// What the accountant assumes here, and how the coordinator makes it true:
//   - Poisson sampling at rate q = --client-ratio: when a round opens, each REGISTERED client is
//     selected independently with probability q (poissonSample over the registry's ids, from the
//     round alone), so the cohort's size varies and may be 0. No over-selection and no extension:
//     a round past its deadline closes with the updates it has (a selected client that drops out
//     only removes its own contribution, which the analysis already covers). The privacy unit is a
//     registered client (one user = one registration is the operator's responsibility).
//   - The fixed denominator qN, N = clients registered when the round opened: public, and
//     independent of who was sampled or who answered.
//   - Each update clipped to L2 norm C (shared delta and the chosen experts as one vector): the
//     device clips (dp-update.ts), and the coordinator refuses (400 over-clip) any update over
//     C·(1 + 1e-6) rather than trusting it.
//   - Central noise N(0, σ²C²) at round close, from a secret the clients never see (the run seed is
//     in every registration, so noise derived from it could be subtracted by any client).
// The sample and the noise (the central noise, or the secure rounds' top-up) come from ChaCha20
// under the coordinator's 256-bit secret key (util/chacha20.ts), one stream per (purpose, round,
// attempt): unpredictable without the key (a 32-bit seed could be searched, xoshiro's state
// inferred from its outputs), and reproducible with it (a restart resumes the same open round).
// Local noise (each device noising its own update) runs only inside secure aggregation: a plain
// update carries only the chosen experts, so a device could not noise the others, and an
// un-noised expert would reveal who chose it. A secure round pads every device's vector to all K
// experts, and each device noises all of it (secagg/noised-vector.ts: std σC/√T per device, T the
// round's threshold, so any completed round's sum carries at least σC, which is all the coordinator
// itself sees); after unmasking the coordinator tops the noise up, from its secret key, to √ρ·σC
// whatever the number of survivors, so that the release does not reveal it (releaseTopUp), and
// checks no clip (it cannot see one update). Central noise with secure aggregation is
// refused: the coordinator would learn the un-noised sum. A secure round that aborts (too few
// clients) or whose Poisson cohort is too small to run securely releases nothing: the round is
// skipped (no re-run, which would re-draw the sample) and composed into the accountant anyway.
//
// Crashes. A round is charged to the accountant, durably (the checkpoint, atomically), BEFORE the
// coordinator can learn what it releases: before it adds the central noise, or before it asks the
// devices for the shares that unmask a secure sum. A coordinator that stops after the charge and
// before the round is applied has spent the budget, not hidden a release: resumed, it runs the
// round again only if the budget still has room for it, and charges it again. A re-run draws its
// Poisson sample and its noise afresh (the attempt number is in the stream's nonce): the two attempts are
// then two independent subsampled Gaussian mechanisms, which is what composing two steps in the
// accountant assumes. The same sample twice would not be (and the same central noise on a
// different sum would show the difference of the sums without any noise).
import type { ClientDelta } from "../aggregate.js";
import { DpAggregation, type DpAggregationOptions, type Release } from "../dp-aggregation.js";
import { accountedNoise, poissonSampleFrom, samplingRate, type DpConfig } from "../dp-config.js";
import { epsilonOf } from "../../privacy/rdp.js";
import { updateNorm } from "../dp-update.js";
import { releaseTopUp } from "../secagg/noised-vector.js";
import { Stream } from "../seed.js";
import { checkKey, KeyedStream } from "../../util/chacha20.js";
import type { TrainConfig } from "../config.js";
import { ApiError } from "./errors.js";
import type { UpdateShape } from "./update.js";

/**
 * `config` with the saved run's noise multiplier: σ was calibrated when the run started, and a
 * restart asked for more rounds (which replans σ from the flags) keeps it, so that the run adds
 * the same noise as before and stops at the budget instead (as `fedfacet train --resume`).
 */
export function keepCalibration(saved: TrainConfig, config: TrainConfig): TrainConfig {
  if (!saved.dp || !config.dp) return config;
  return { ...config, dp: { ...config.dp, noiseMultiplier: saved.dp.noiseMultiplier } };
}

/** Relative slack of the coordinator's clip check (the device's f32 arithmetic). */
export const CLIP_TOLERANCE = 1e-6;

export class DpRound {
  readonly rate: number;
  /**
   * Holds the accountant across rounds. Its population is a placeholder: each round's release
   * builds its own DpAggregation with that round's N and hands the accountant back.
   */
  private readonly ledger: DpAggregation;
  /** N of the open round (registered clients when it opened). */
  private population = 0;
  /**
   * budgetStop's answer until the accountant changes (undefined: not computed): it costs about
   * 5 ms of RDP curve, and every poll of a waiting client asks whether the run has finished.
   */
  private stop: string | null | undefined;

  constructor(
    readonly dp: DpConfig,
    config: TrainConfig,
    private readonly shape: UpdateShape,
    private readonly groupSize: number,
    /** The secret key of the sample and the noise (util/chacha20.ts: 8 u32 words). */
    private readonly secretKey: readonly number[],
    /** Secure aggregation: the devices noise their vectors (dp noise local), the coordinator tops the noise up. */
    secure: boolean,
  ) {
    if (!secure && dp.noise !== "central") throw new RangeError("dp noise local over the network needs secure aggregation: a plain update carries only the chosen experts, so a device cannot noise the others");
    if (secure && dp.noise !== "local") throw new RangeError("secure aggregation with dp noise central would show the coordinator the un-noised sum: the devices add the noise (dp noise local)");
    this.rate = samplingRate(config.participation);
    checkKey(secretKey, "DpRound: the secret key");
    // the ledger releases nothing: its noise seed is never drawn from
    this.ledger = new DpAggregation(dp, this.options(1, 0));
  }

  /**
   * The clients selected for `round` out of the registered `ids` (ascending): a Poisson sample at
   * rate q. `draw`: the round's earlier charges (a re-run after a crash samples afresh).
   */
  select(ids: readonly number[], round: number, draw: number): number[] {
    this.population = ids.length;
    return Array.from(poissonSampleFrom(ids.length, this.rate, this.stream(Stream.Sample, round, draw)), (i) => ids[i]!);
  }

  /** Throws 400 over-clip, before anything of the round changes, if `d` is larger than C allows. */
  checkClip(d: ClientDelta, client: number): void {
    const norm = updateNorm([d.shared, ...d.experts]);
    const C = this.dp.clip;
    if (!(norm <= C * (1 + CLIP_TOLERANCE))) throw new ApiError(400, "over-clip", `client ${client}'s update has L2 norm ${norm} > the clip bound ${C}: clip it before sending`);
  }

  /**
   * The Aggregator's release for `round` (attempt `draw`), over the sums of its clipped deltas; a
   * secure round's (`threshold` T): over the devices' noised sums, topped up for its `clients`
   * survivors. The round was charged before (charge()): the throwaway DpAggregation's own
   * composition is dropped.
   */
  release(round: number, global: Float32Array, draw: number, threshold?: number): (total: Float64Array, routeCount: Float64Array, clients: number) => Release {
    return (total, routeCount, clients) => {
      const topUp = threshold === undefined ? undefined : releaseTopUp(clients, threshold);
      const noise = this.stream(Stream.CentralNoise, round, draw);
      return new DpAggregation(this.dp, { ...this.options(Math.max(1, this.population), noise), ...(topUp !== undefined && { topUp }) }).release(round, total, routeCount, clients, global);
    };
  }

  /**
   * Composes one round into the accountant: a round about to be released (charged before anything
   * of it can be learned), or one that released nothing (a skipped secure round). The caller makes
   * it durable (the checkpoint) and restores save()'s state if that fails.
   */
  charge(): void {
    this.ledger.compose();
    this.stop = undefined;
  }

  /**
   * ε without sampling amplification, for a client that took part in each of `rounds` releases
   * (every charged round: a round re-run after a crash counts each attempt). It holds against
   * whoever knows who took part: the coordinator's logs and checkpoint name each round's clients,
   * and with local noise the coordinator itself drew the cohort. Against them each such round is a
   * plain Gaussian mechanism (q = 1) of multiplier at least σ (central noise σC; local, the
   * devices' summed over at least T survivors), accounted with the counts as the release is.
   */
  coordinatorEpsilon(rounds: number): number {
    return rounds === 0 ? 0 : epsilonOf(1, accountedNoise(this.dp.noiseMultiplier, this.shape.layout !== null), rounds, this.dp.delta).epsilon;
  }

  /** ε spent so far. */
  spent(): number {
    return this.ledger.spent().epsilon;
  }

  /** Null while one more round fits in the budget; otherwise why the run stops. */
  budgetStop(): string | null {
    if (this.stop === undefined) this.stop = this.ledger.budgetStop();
    return this.stop;
  }

  save(): Float64Array {
    return this.ledger.save();
  }

  restore(rdp: Float64Array): void {
    this.ledger.restore(rdp);
    this.stop = undefined;
  }

  private options(population: number, noise: DpAggregationOptions["noise"]): DpAggregationOptions {
    return { noise, population, rate: this.rate, sharedSize: this.shape.sharedSize, groupSize: this.groupSize, layout: this.shape.layout };
  }

  /** The secret stream of `purpose` (the sample, the noise) for attempt `draw` of `round`. */
  private stream(purpose: Stream, round: number, draw: number): KeyedStream {
    return new KeyedStream(this.secretKey, [purpose, round, draw]);
  }
}
