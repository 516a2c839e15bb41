// The target's exposure: how often target items reach a user's top 10. For each real user, the
// candidates are the target items plus a fixed random sample of non-target catalogue items (the
// same for every user), scored by the on-device path (DeviceScorer) after the user's whole history;
// the user counts as exposed when a target ranks in the top 10. Ties are broken against the
// targets (a target must beat every non-target it ties with to be counted), so features shared by
// targets and other items never inflate the figure.
import type { Dataset } from "../src/data/dataset.js";
import { CentralEngine } from "../src/federated/central-engine.js";
import { loadArray } from "../src/federated/checkpoint.js";
import { DeviceScorer, type DeviceState } from "../src/federated/device.js";
import type { Engine } from "../src/federated/engine.js";
import type { Backend } from "../src/kernels/backend.js";
import type { ModelConfig } from "../src/model/types.js";
import { schemaOf } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";

export const TOP = 10;

/** The target items, then `sample` distinct random non-target items. */
export function candidateSet(ds: Dataset, targets: Int32Array, sample: number, seed: number): Int32Array {
  const isTarget = new Set(targets);
  const picked = new Set<number>();
  const rng = new Rng(seed);
  if (ds.numItems - isTarget.size < sample) throw new RangeError(`candidateSet: the catalogue has fewer than ${sample} non-target items`);
  while (picked.size < sample) {
    const i = 1 + rng.int(ds.numItems);
    if (!isTarget.has(i)) picked.add(i);
  }
  return Int32Array.from([...targets, ...picked]);
}

export interface ModelValues {
  /** [shared | group] values. */
  global: Float32Array;
  /** users × private values; with `oneModel`, the private values of the one model every user is scored with. */
  privates: Float32Array;
  shared: number;
  private: number;
  /** Central training: one model for everybody (its user-field table and user experts are not per user). */
  oneModel?: boolean;
}

/**
 * A copy of an engine's current values: a federated engine's global values and every client's
 * private ones, or the central engine's single model (its partitions one after the other).
 */
export function modelValues(e: Engine): ModelValues {
  const s = e.save();
  const { shared, group, private: priv } = e.params;
  if (e instanceof CentralEngine) {
    const values = s.values as Float32Array;
    return { global: values.slice(0, shared + group), privates: values.slice(shared + group), shared, private: priv, oneModel: true };
  }
  return { global: Float32Array.from(s.global as Float32Array), privates: loadArray(s.privates!) as Float32Array, shared, private: priv };
}

/** Fraction of users 0..users−1 whose top 10 of `candidates` (targets first, `targets` many) holds a target. */
export async function exposure(be: Backend, model: ModelConfig, ds: Dataset, v: ModelValues, users: number, candidates: Int32Array, targets: number): Promise<number> {
  const part = (u: number) => (v.oneModel ? v.privates : v.privates.subarray(u * v.private, (u + 1) * v.private));
  const state: DeviceState = { model, schema: schemaOf(ds), allPrivate: false, values: { shared: v.global.subarray(0, v.shared), group: v.global.subarray(v.shared), private: part(0) } };
  // one scorer, its private values swapped user by user
  const scorer = await DeviceScorer.create(state, be);
  let exposed = 0;
  const F = ds.userFields.length;
  for (let u = 0; u < users; u++) {
    if (!v.oneModel) scorer.load("private", part(u));
    const from = ds.seqStart[u]!;
    const to = ds.seqStart[u + 1]!;
    const p = scorer.score({ history: ds.seqItems.subarray(from, to), clicks: ds.seqLabels.subarray(from, to), userCodes: ds.userFeatures.subarray(u * F, (u + 1) * F), itemFeatures: ds.itemFeatures, candidates });
    let best = -Infinity;
    for (let j = 0; j < targets; j++) best = Math.max(best, p[j]!);
    // the best target's rank: every non-target scoring at least as high is above it
    let above = 0;
    for (let j = targets; j < p.length; j++) if (p[j]! >= best) above++;
    if (above < TOP) exposed++;
  }
  scorer.dispose();
  return exposed / users;
}
