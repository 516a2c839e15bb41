// How a device trains its private partition (user fields, user experts, the user-bias option), as
// options beside METHOD.md's reference (the private partition steps with the round's fresh Adam).
// Why: a fresh Adam's first step is lr·g/|g| per weight, ±lr whatever the gradient's size, so with
// one step per round the private weights jitter by ±lr every round and never settle on what is
// the user's own (its click propensity, say). A private optimiser of its own — plain SGD, whose
// step follows the gradient's size, or an Adam whose moments stay on the device from round to
// round — and extra steps on the private partition alone let it settle.
import { PARTITIONS, type ParamStore, type Partition } from "../autograd/params.js";
import type { Dataset } from "../data/dataset.js";
import type { LeaveOneOut } from "../data/split.js";
import { PERSONAL_BIAS, USER_BIAS } from "../model/index.js";
import type { ModelConfig } from "../model/types.js";
import { Adam, ADAM_DEFAULTS } from "../optim/adam.js";
import { Sgd } from "../optim/sgd.js";

export interface PrivateOptions {
  /**
   * "shared": the round's optimiser steps the private partition too (METHOD.md); "sgd": its own
   * SGD; "adam": its own Adam whose moments and step count persist on the device across rounds.
   */
  optimizer: "shared" | "sgd" | "adam";
  /** Step size of the private optimiser ("sgd" and "adam"). */
  lr: number;
  /** Steps per round on the private partition alone, after the local steps ("sgd" and "adam"). */
  extraSteps: number;
  /**
   * The user-bias option's initial value: 0, or the logit of the user's own training click rate;
   * "click-rate" also starts the personal-bias option from the user's click rate per item-field
   * value (initPersonalBias).
   */
  biasInit: "zero" | "click-rate";
  /** Pseudo-impressions at the user's own rate that shrink its per-value rates (personal bias; absent: PERSONAL_PRIOR). */
  personalPrior?: number;
  /** Multiplier of the personal bias's initial log-odds (absent: PERSONAL_WEIGHT). */
  personalWeight?: number;
}

/** Default shrinkage of the personal bias's initial values: the best of 2, 5, 10, 20 by validation AUC of the rates alone on KuaiSAR-R. */
export const PERSONAL_PRIOR = 10;
/**
 * Default multiplier of the personal bias's initial log-odds: the six item fields of KuaiSAR-R are
 * nested category levels, so summing their log-odds as if independent over-counts; 0.25 scored the
 * best validation AUC of 0.25, 0.5, 1 (bench/results/kuaisar-r-device-ablation.md).
 */
export const PERSONAL_WEIGHT = 0.25;

export const PRIVATE_DEFAULTS: Readonly<PrivateOptions> = Object.freeze({ optimizer: "shared", lr: 0.1, extraSteps: 0, biasInit: "zero" });

export function checkPrivateOptions(o: PrivateOptions): void {
  if (!["shared", "sgd", "adam"].includes(o.optimizer)) throw new RangeError(`private optimizer must be shared, sgd or adam, got '${o.optimizer}'`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new RangeError(`private lr must be positive, got ${o.lr}`);
  if (!(Number.isInteger(o.extraSteps) && o.extraSteps >= 0)) throw new RangeError(`private extra steps must be an integer >= 0, got ${o.extraSteps}`);
  if (o.extraSteps > 0 && o.optimizer === "shared") throw new RangeError("private extra steps need a private optimizer of their own (sgd or adam)");
  if (o.personalWeight !== undefined && !(o.personalWeight > 0 && Number.isFinite(o.personalWeight))) throw new RangeError(`private personal weight must be positive, got ${o.personalWeight}`);
  if (o.personalPrior !== undefined && !(o.personalPrior > 0 && Number.isFinite(o.personalPrior))) throw new RangeError(`private personal prior must be positive, got ${o.personalPrior}`);
  if (o.biasInit !== "zero" && o.biasInit !== "click-rate") throw new RangeError(`private bias init must be zero or click-rate, got '${o.biasInit}'`);
}

/** The partitions the round's optimiser steps: all, or all but the private one when that has its own. */
export function roundPartitions(o: PrivateOptions): readonly Partition[] {
  return o.optimizer === "shared" ? PARTITIONS : PARTITIONS.filter((p) => p !== "private");
}

/**
 * The private partition's own optimiser. Its state (Adam: m, v, then the step count) is per client:
 * `stateSize` values a slot, which the caller keeps with the client's private values and hands to
 * load / save around the client's training.
 */
export class PrivateOptimizer {
  private readonly opt: Adam | Sgd;
  readonly stateSize: number;

  constructor(store: ParamStore, o: PrivateOptions) {
    if (o.optimizer === "shared") throw new RangeError("PrivateOptimizer: the 'shared' option has no private optimiser");
    this.opt = o.optimizer === "sgd" ? new Sgd(store, { lr: o.lr, weightDecay: 0 }, ["private"]) : new Adam(store, { ...ADAM_DEFAULTS, lr: o.lr }, ["private"]);
    this.stateSize = this.opt instanceof Adam ? this.opt.stateSize() + 1 : 0;
  }

  /** Multiplier of the private lr for the next steps (the round's lr schedule). */
  set lrScale(scale: number) {
    this.opt.lrScale = scale;
  }

  step(): void {
    this.opt.step();
  }

  /** Takes a client's state from slot c of `states` (clients × stateSize). */
  load(states: Float32Array, c: number): void {
    if (!(this.opt instanceof Adam)) return;
    const at = c * this.stateSize;
    this.opt.readMoments(states, at, states[at + this.stateSize - 1]!);
  }

  /** Puts the client's state back into slot c. */
  save(states: Float32Array, c: number): void {
    if (!(this.opt instanceof Adam)) return;
    const at = c * this.stateSize;
    this.opt.writeMoments(states, at);
    states[at + this.stateSize - 1] = this.opt.steps;
  }
}

const logit = (p: number) => Math.log(p / (1 - p));

/** User u's training click rate with one pseudo-click and one pseudo-skip (Laplace): never 0 or 1. */
function trainClickRate(ds: Dataset, split: LeaveOneOut, u: number, caller: string): number {
  if (!(Number.isInteger(u) && u >= 0 && u < ds.numUsers)) throw new RangeError(`${caller}: no user ${u} (the data has ${ds.numUsers})`);
  let clicks = 0;
  const start = ds.seqStart[u]!;
  const n = split.trainLength[u]!;
  for (let j = start; j < start + n; j++) clicks += ds.seqLabels[j]!;
  return (clicks + 1) / (n + 2);
}

/**
 * The user-bias value user u starts from with the click-rate option: the logit of its Laplace-
 * smoothed training click rate, which the device can compute from its own history.
 */
export function clickRateLogit(ds: Dataset, split: LeaveOneOut, u: number): number {
  return logit(trainClickRate(ds, split, u, "clickRateLogit"));
}

/**
 * Writes user u's personal-bias table into `values` (the user's private values; the table at `at`,
 * its fields' rows stacked as FieldEmbedding lays them out) from its training history: for each
 * value v of field f the user has seen, weight · (logit(s) − logit(r)), where r is the user's
 * Laplace-smoothed click rate (as clickRateLogit) and s = (clicks on v + prior·r) / (impressions of
 * v + prior), its rate on v shrunk towards r. Rows of unseen values are left as they are (the
 * caller's initial values). Only the device's own history is read.
 */
export function initPersonalBias(ds: Dataset, split: LeaveOneOut, u: number, values: Float32Array, at: number, prior: number, weight: number): void {
  const r = trainClickRate(ds, split, u, "initPersonalBias");
  if (!(prior > 0 && Number.isFinite(prior))) throw new RangeError(`initPersonalBias: prior must be positive, got ${prior}`);
  if (!(weight > 0 && Number.isFinite(weight))) throw new RangeError(`initPersonalBias: weight must be positive, got ${weight}`);
  const F = ds.itemFields.length;
  const offsets = new Int32Array(F);
  let rows = 0;
  ds.itemFields.forEach((f, j) => {
    offsets[j] = rows;
    rows += f.cardinality;
  });
  if (!(Number.isInteger(at) && at >= 0 && at + rows <= values.length)) throw new RangeError(`initPersonalBias: a table of ${rows} rows at ${at} does not fit ${values.length} private values`);
  const clicks = new Float64Array(rows);
  const seen = new Float64Array(rows);
  const start = ds.seqStart[u]!;
  for (let j = start; j < start + split.trainLength[u]!; j++) {
    const y = ds.seqLabels[j]!;
    for (let f = 0; f < F; f++) {
      const row = offsets[f]! + ds.itemFeatures[ds.seqItems[j]! * F + f]!;
      clicks[row]! += y;
      seen[row]!++;
    }
  }
  for (let row = 0; row < rows; row++) if (seen[row]! > 0) values[at + row] = weight * (logit((clicks[row]! + prior * r) / (seen[row]! + prior)) - logit(r));
}

/**
 * Where the click-rate option writes a user's own starting values into its private values (offsets
 * in the private partition; -1: not in the model), with the personal table's prior and weight.
 */
export interface HistoryStart {
  biasAt: number;
  tableAt: number;
  prior: number;
  weight: number;
}

/**
 * The click-rate option's targets in a store built for `model` (its private partition), or null
 * when every user starts from the run's generic initial private values.
 */
export function historyStart(model: ModelConfig, o: PrivateOptions | undefined, store: ParamStore): HistoryStart | null {
  if (o?.biasInit !== "click-rate" || !(model.userBias || model.personalBias)) return null;
  const at = (name: string) => {
    const s = store.slice(name);
    if (s.partition !== "private") throw new Error(`historyStart: '${name}' is in the ${s.partition} partition, not the private one`);
    return s.start;
  };
  return { biasAt: model.userBias ? at(USER_BIAS) : -1, tableAt: model.personalBias ? at(PERSONAL_BIAS) : -1, prior: o.personalPrior ?? PERSONAL_PRIOR, weight: o.personalWeight ?? PERSONAL_WEIGHT };
}

/**
 * Turns `values`, the run's generic initial private values, into user u's own starting values: its
 * user bias at clickRateLogit, its personal table from initPersonalBias. The in-process engine and
 * a networked device (RoundTrainer) both start a user here, so they start it alike.
 */
export function startFromHistory(s: HistoryStart, ds: Dataset, split: LeaveOneOut, u: number, values: Float32Array): void {
  if (s.biasAt >= 0) values[s.biasAt] = clickRateLogit(ds, split, u);
  if (s.tableAt >= 0) initPersonalBias(ds, split, u, values, s.tableAt, s.prior, s.weight);
}

/** Values of one client's private optimiser state: PrivateOptimizer.stateSize without a store. */
export function privateStateSize(o: PrivateOptions | undefined, privateSize: number): number {
  return o?.optimizer === "adam" && privateSize > 0 ? 2 * privateSize + 1 : 0;
}
