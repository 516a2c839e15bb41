// Small models and random batches for the model tests: schemas with a few short fields, item and
// user field-code tables, and left-padded windows like src/data/split.ts makes (optionally one row
// of nothing but padding).
import { allocWindows } from "../src/data/split.js";
import { createModel } from "../src/model/build.js";
import type { SequenceModel } from "../src/model/model.js";
import type { BatchInputs, ModelConfig, Schema } from "../src/model/types.js";
import type { Rng } from "../src/util/rng.js";

export interface ModelDims {
  [k: string]: number;
  B: number;
  T: number;
  fieldDim: number;
  itemFields: number;
  userFields: number;
  groups: number;
  /** Hidden width of the one-layer MLP. */
  hidden: number;
  /** 1: two heads (when d is even). */
  heads2: number;
  gateWeighted: number;
  /** 1: the gate also reads the clicked − unclicked mean of X. */
  gateClicks: number;
  clickInput: number;
  /** 1: the private per-user logit bias. */
  userBias: number;
  /** 1: shared per-item-field-value logit scalars. */
  itemBias: number;
  /** 1: private per-item-field-value logit scalars (the personal bias). */
  personalBias: number;
  /** 1: the FedSASRec network instead of MRFF. */
  fedsasrec: number;
  /** 1: pass a groupShare (balance loss on). */
  balance: number;
  /** 1: row 0 is all padding. */
  allPad: number;
  /** Dropout in percent (0: evaluation mode). */
  pct: number;
}

export const NUM_ITEMS = 7;
export const NUM_USERS = 5;

export function smallSchema(d: ModelDims): Schema {
  // cardinalities 4, 5, 6, ...: field f has codes 1..f+3 besides padding
  return {
    itemCardinalities: Array.from({ length: d.itemFields }, (_, f) => 4 + f),
    userCardinalities: Array.from({ length: d.userFields }, (_, f) => 4 + f),
  };
}

export function smallConfig(d: ModelDims): ModelConfig {
  const width = d.itemFields * d.fieldDim;
  return {
    kind: d.fedsasrec ? "fedsasrec" : "mrff",
    maxlen: d.T,
    fieldDim: d.fieldDim,
    blocks: 2,
    heads: d.heads2 && width % 2 === 0 ? 2 : 1,
    groups: d.groups,
    alpha: 0.1,
    dropout: d.pct / 100,
    gateWeighted: d.gateWeighted === 1,
    gateClicks: d.gateClicks === 1,
    clickInput: d.clickInput === 1,
    userBias: d.userBias === 1,
    itemBias: d.itemBias === 1,
    ...(d.personalBias === 1 && { personalBias: "trained" as const }),
    mlp: [d.hidden],
  };
}

export function smallModel(d: ModelDims): SequenceModel {
  return createModel(smallConfig(d), smallSchema(d));
}

/** Field codes of `rows` entities (row 0 all padding when `padRow0`), each code in 1..card−1 when card > 1. */
export function randomCodes(rng: Rng, cards: readonly number[], rows: number, padRow0: boolean): Int32Array {
  const F = cards.length;
  return Int32Array.from({ length: rows * F }, (_, k) => {
    const card = cards[k % F]!;
    return (padRow0 && k < F) || card === 1 ? 0 : 1 + rng.int(card - 1);
  });
}

/**
 * B left-padded windows of 1..T real slots (row 0 none when allPad), random items, clicks,
 * targets and labels; weigh "all" scores every real slot (training), "last" only the final one.
 */
export function randomBatch(rng: Rng, schema: Schema, B: number, T: number, allPad: boolean, weigh: "all" | "last" = "all"): BatchInputs {
  const w = allocWindows(B, T);
  for (let b = 0; b < B; b++) {
    const len = allPad && b === 0 ? 0 : 1 + rng.int(T);
    for (let t = T - len; t < T; t++) {
      const s = b * T + t;
      w.items[s] = 1 + rng.int(NUM_ITEMS);
      w.clicks[s] = rng.int(2);
      w.mask[s] = 1;
      w.targets[s] = 1 + rng.int(NUM_ITEMS);
      w.labels[s] = rng.int(2);
      w.weights[s] = weigh === "all" || t === T - 1 ? 1 : 0;
    }
  }
  return {
    windows: w,
    users: Int32Array.from({ length: B }, () => rng.int(NUM_USERS)),
    itemFeatures: randomCodes(rng, schema.itemCardinalities, NUM_ITEMS + 1, true),
    userFeatures: randomCodes(rng, schema.userCardinalities, NUM_USERS, false),
  };
}

/** A groupShare (blocks × groups, each block's row a distribution over the groups). */
export function randomShare(rng: Rng, blocks: number, groups: number): Float64Array {
  const s = new Float64Array(blocks * groups);
  for (let l = 0; l < blocks; l++) {
    let sum = 0;
    for (let k = 0; k < groups; k++) sum += s[l * groups + k] = 0.1 + rng.next();
    for (let k = 0; k < groups; k++) s[l * groups + k]! /= sum;
  }
  return s;
}
