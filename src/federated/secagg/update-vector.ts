// A device's round output as the one integer vector a secure round sums, and the cohort's sum back
// as real-valued sums: [ packRouted's layout (shared | all-K experts | one-hot routes), or only the
// shared part without a group partition | samples | loss ]. The two metrics ride in the masked
// vector too, so the coordinator learns the cohort's total samples and loss, never one client's.
// Browser-safe: the device packs, the coordinator unpacks.
import type { CohortSum, GroupLayout } from "../aggregate.js";
import { dequantiseSum, quantiseInto, quantLevels, type QuantSpec } from "./quantise.js";
import { packRouted, routedLength, unpackRouted } from "./routing.js";

/** A training loss beyond this is clipped to it before it is quantised (a loss is a few units). */
export const LOSS_BOUND = 1000;

export interface SecureLayout {
  shared: number;
  group: number;
  /** Null without a group partition (fedsasrec): then only the shared deltas are summed. */
  experts: GroupLayout | null;
}

export interface SecureUpdate {
  shared: Float32Array;
  /** Per block, the chosen expert's delta (none without a group partition). */
  experts: Float32Array[];
  routes: Int32Array;
  samples: number;
  loss: number;
}

/** Elements of the vector before the two metrics: the deltas (and route counts). */
export function bodyLength(layout: SecureLayout): number {
  return layout.experts ? routedLength({ ...layout, experts: layout.experts }) : layout.shared;
}

/** Elements of the vector: the deltas (and route counts), then samples and loss. */
export function secureLength(layout: SecureLayout): number {
  return bodyLength(layout) + 2;
}

/** The device's vector: its clipped, quantised deltas in the all-experts layout, then its metrics. */
export function packSecureUpdate(u: SecureUpdate, layout: SecureLayout, spec: QuantSpec): Uint32Array {
  const out = new Uint32Array(secureLength(layout));
  const n = bodyLength(layout);
  if (layout.experts) out.set(packRouted(u, { ...layout, experts: layout.experts }, spec));
  else {
    if (u.shared.length !== layout.shared) throw new RangeError(`packSecureUpdate: shared has ${u.shared.length} values, the layout ${layout.shared}`);
    quantiseInto(u.shared, spec, out, 0, "shared");
  }
  // samples are counted exactly: no device may claim more than one input's range
  const q = quantLevels(spec);
  if (!(Number.isInteger(u.samples) && u.samples >= 0 && u.samples <= q)) throw new RangeError(`packSecureUpdate: samples must be an integer in [0, ${q}], got ${u.samples}`);
  out[n] = u.samples;
  quantiseInto([u.loss], lossSpec(spec), out, n + 1, "loss");
  return out;
}

/** The real-valued sums of `count` packed vectors from their unmasked sum (a RangeError if it cannot be one). */
export function unpackSecureSum(sum: Uint32Array, layout: SecureLayout, spec: QuantSpec, count: number): CohortSum {
  if (sum.length !== secureLength(layout)) throw new RangeError(`unpackSecureSum: ${sum.length} elements, the layout ${secureLength(layout)}`);
  const n = bodyLength(layout);
  const body = sum.subarray(0, n);
  let part: { shared: Float64Array; group: Float64Array; counts: ArrayLike<number> };
  if (layout.experts) part = unpackRouted(body, { ...layout, experts: layout.experts }, spec, count);
  else part = { shared: dequantiseSum(body, spec, count), group: new Float64Array(layout.group), counts: [] };
  const samples = sum[n]! | 0;
  if (samples < 0 || samples > count * quantLevels(spec)) throw new RangeError(`unpackSecureSum: ${samples} samples cannot be the sum of ${count} inputs`);
  const loss = dequantiseSum(sum, lossSpec(spec), count, n + 1, 1)[0]!;
  return { clients: count, ...part, samples, loss };
}

function lossSpec(spec: QuantSpec): QuantSpec {
  return { bound: LOSS_BOUND, clients: spec.clients };
}
