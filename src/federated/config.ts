// Everything that decides a training run's numbers (so that a checkpoint can rebuild the run and
// resume it exactly). How the run is executed (worker count, output folder) is not here: any
// worker count gives the same numbers.
import { DEFAULT_CONFIG } from "../model/index.js";
import type { ModelConfig } from "../model/types.js";
import type { LocalOptions } from "./client.js";
import type { Weighting } from "./runner.js";
import { checkAggregator, isPlainMean, type AggregatorConfig } from "./robust/rules.js";
import type { Participation } from "./sample.js";
import { SERVER_DEFAULTS, type ServerOptions } from "./server-opt.js";
import type { DataSource } from "./source.js";
import { checkDpConfig, samplingRate, type DpConfig } from "./dp-config.js";
import type { Averaging } from "./touched-average.js";
import { checkLrSchedule } from "../optim/schedule.js";

/**
 * mrff and fedsasrec: federated (METHOD.md); local: every client trains its own model, nothing is
 * shared; central: one model trained on the pooled data (the upper bound).
 */
export type Regime = "mrff" | "fedsasrec" | "local" | "central";
export const REGIMES: readonly Regime[] = ["mrff", "fedsasrec", "local", "central"];


/**
 * How each client's update travels to the coordinator (federated regimes). f32: the trained values
 * are summed as they are (no wire path; bytes counted from the raw frame's layout). Otherwise the
 * delta (trained − global) of the shared partition and of each chosen expert goes through the wire
 * format with that encoding and the client's error feedback, and the decoded delta is what the
 * coordinator sums.
 */
export type Compression =
  | { kind: "f32" }
  | { kind: "int8"; block: number }
  /** k: entries sent per partition, a fraction in (0, 1) of it or a count. */
  | { kind: "topk"; k: number }
  | { kind: "topk-int8"; k: number; block: number };
export const COMPRESSIONS = ["f32", "int8", "topk", "topk-int8"] as const;

export interface TrainConfig {
  regime: Regime;
  /** The backbone (its kind is mrff or fedsasrec; local and central may use either). */
  model: ModelConfig;
  data: DataSource;
  seed: number;
  rounds: number;
  participation: Participation;
  /** Local training of a client in a round; central trains with Adam at local.lr. */
  local: LocalOptions;
  /** How the coordinator applies a round's averages (federated regimes). */
  server: ServerOptions;
  /** Shared and group averages: plain means over participants, or weighted by training slots. */
  weighting: Weighting;
  /** Uplink compression of client updates (federated regimes). */
  compression: Compression;
  /** Aggregation rule per partition (federated regimes); absent: the mean (FedAvg). */
  aggregator?: AggregatorConfig;
  /** Shared values averaged over all participants (absent: "all", METHOD.md) or, each, over those that changed it (touched-average.ts). */
  averaging?: Averaging;
  /** Clients summed together by one worker; fixes the order of the sums (part of the numbers). */
  chunk: number;
  /** Evaluate every this many rounds (and always after the last one). */
  evalEvery: number;
  /** Bootstrap resamples for the test AUC interval. */
  bootstrap: number;
  /** central: users per minibatch. */
  batchSize: number;
  /** User-level differential privacy (DP-FedAvg, dp-config.ts); absent: none. */
  dp?: DpConfig;
}

/** METHOD.md's reference settings for a regime, on the embedded synthetic data. */
export function defaultConfig(regime: Regime = "mrff"): TrainConfig {
  const kind = regime === "fedsasrec" ? "fedsasrec" : "mrff";
  return {
    regime,
    model: { ...DEFAULT_CONFIG, kind, mlp: [...DEFAULT_CONFIG.mlp] },
    data: { kind: "synthetic", options: {} },
    seed: 1,
    rounds: 30,
    participation: { ratio: 1 },
    local: { localSteps: 1, optimizer: "adam", lr: regime === "central" ? 0.001 : 0.1, weightDecay: 0 },
    server: { ...SERVER_DEFAULTS },
    weighting: "uniform",
    compression: { kind: "f32" },
    chunk: 32,
    evalEvery: 1,
    bootstrap: 1000,
    batchSize: 64,
  };
}

/** Throws a RangeError naming the first setting that is out of range. */
export function checkConfig(c: TrainConfig): void {
  const positiveInt = (name: string, v: number) => {
    if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  if (!REGIMES.includes(c.regime)) throw new RangeError(`regime must be one of ${REGIMES.join(", ")}, got '${c.regime}'`);
  if ((c.regime === "mrff" || c.regime === "fedsasrec") && c.model.kind !== c.regime) {
    throw new RangeError(`regime ${c.regime} trains a ${c.regime} model, not ${c.model.kind}`);
  }
  if (!Number.isInteger(c.seed)) throw new RangeError(`seed must be an integer, got ${c.seed}`);
  positiveInt("rounds", c.rounds);
  positiveInt("chunk", c.chunk);
  positiveInt("evalEvery", c.evalEvery);
  positiveInt("bootstrap", c.bootstrap);
  positiveInt("batchSize", c.batchSize);
  positiveInt("localSteps", c.local.localSteps);
  if (c.local.optimizer !== "adam" && c.local.optimizer !== "sgd") throw new RangeError(`local optimizer must be adam or sgd, got '${c.local.optimizer}'`);
  if (!(c.local.lr > 0 && Number.isFinite(c.local.lr))) throw new RangeError(`lr must be positive, got ${c.local.lr}`);
  if (!(c.local.weightDecay >= 0)) throw new RangeError(`weightDecay must be >= 0, got ${c.local.weightDecay}`);
  if (c.local.lrSchedule) checkLrSchedule(c.local.lrSchedule);
  if (c.server.optimizer !== "avg" && c.server.optimizer !== "adam") throw new RangeError(`server optimizer must be avg or adam, got '${c.server.optimizer}'`);
  if (!(c.server.lr > 0 && Number.isFinite(c.server.lr))) throw new RangeError(`server lr must be positive, got ${c.server.lr}`);
  const p = c.participation;
  if ("ratio" in p ? !(p.ratio > 0 && p.ratio <= 1) : !(Number.isInteger(p.count) && p.count >= 1)) {
    throw new RangeError(`participation must be a ratio in (0, 1] or a count >= 1, got ${JSON.stringify(p)}`);
  }
  checkCompression(c);
  if (c.averaging !== undefined && c.averaging !== "all" && c.averaging !== "touched") throw new RangeError(`averaging must be all or touched, got '${c.averaging}'`);
  // touched averaging counts changed values in the chunk sums: DP releases noised sums with a fixed
  // denominator, and robust rules read per-client deltas instead
  if (c.averaging === "touched" && (c.dp || !isPlainMean(c.aggregator))) throw new RangeError("averaging touched applies to the plain mean without differential privacy");
  if (c.weighting !== "uniform" && c.weighting !== "samples") throw new RangeError(`weighting must be uniform or samples, got '${c.weighting}'`);
  if (c.aggregator) checkAggregator(c.aggregator, c.weighting);
  if (!isPlainMean(c.aggregator)) {
    if (c.regime === "local" || c.regime === "central") throw new RangeError(`regime ${c.regime} aggregates nothing: its aggregator must be the mean`);
    // a robust rule reads each client's delta; DP releases noised sums of clipped updates
    if (c.dp) throw new RangeError("a robust aggregator reads per-client deltas: it does not combine with differential privacy");
    if (c.compression.kind !== "f32") throw new RangeError(`a robust aggregator takes uncompressed updates, not compression ${c.compression.kind}`);
  }
  if (c.dp) {
    if (c.regime !== "mrff" && c.regime !== "fedsasrec") throw new RangeError(`differential privacy applies to the federated regimes (mrff, fedsasrec), not ${c.regime}`);
    // a client's weight would be part of its contribution, which clipping bounds only at weight 1
    if (c.weighting !== "uniform") throw new RangeError("differential privacy needs weighting uniform");
    // clipping bounds the update before encoding; a lossy encoding with error feedback would send
    // residuals the accountant never saw
    if (c.compression.kind !== "f32") throw new RangeError(`differential privacy takes uncompressed updates, not compression ${c.compression.kind}`);
    samplingRate(c.participation);
    checkDpConfig(c.dp);
  }
}

function checkCompression(c: TrainConfig): void {
  const z = c.compression;
  if (!COMPRESSIONS.includes(z.kind)) throw new RangeError(`compression must be one of ${COMPRESSIONS.join(", ")}, got '${z.kind}'`);
  if (z.kind === "f32") return;
  if (c.regime !== "mrff" && c.regime !== "fedsasrec") throw new RangeError(`compression ${z.kind} applies to the federated regimes (mrff, fedsasrec), not ${c.regime}`);
  if ("block" in z && !(Number.isInteger(z.block) && z.block >= 1)) throw new RangeError(`compression block must be a positive integer, got ${z.block}`);
  if ("k" in z && !(z.k > 0 && (z.k < 1 || Number.isInteger(z.k)))) throw new RangeError(`compression k must be a fraction in (0, 1) or a positive integer count, got ${z.k}`);
}
