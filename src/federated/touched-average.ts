// The "touched" averaging option for the shared partition. FedAvg (METHOD.md) averages every shared
// value over all participants, and a participant that never used a value (an item-field embedding
// row for a category it was never shown, a position beyond its history) returns it unchanged: the
// round's step for that value is shrunk by the fraction of participants that used it. On KuaiSAR-R
// most rows of the fine category fields are seen by a few dozen of 1,791 clients, so they barely
// move in a round. Averaging each value over the participants whose training changed it gives
// every row the step its users agree on; a value everybody changes averages as under FedAvg.
//
//   new_j = g_j + (Σ_i w_i v_ij / W − g_j) · W / T_j,   T_j = Σ of w_i over the i with v_ij ≠ g_j
//
// (Σ_i w_i v_ij − W g_j is the sum over the changers of w_i (v_ij − g_j): the others add zero.)

export type Averaging = "all" | "touched";

/**
 * Adds w to touched[j] for each j < n where the trained value f[trained + j] differs from the
 * round's global value f[global + j].
 */
export function addTouched(f: Float32Array | Float64Array, trained: number, global: number, n: number, w: number, touched: Float64Array): void {
  if (touched.length < n) throw new RangeError(`addTouched: ${touched.length} counters for ${n} values`);
  for (let j = 0; j < n; j++) if (f[trained + j] !== f[global + j]) touched[j] += w;
}

/**
 * Rewrites total[0, touched.length) — Σ w·v over every participant, total weight W — so that
 * total / W is the touched average above; a value nobody changed gets W·g (it stays put).
 */
export function stretchToTouched(global: Float32Array, total: Float64Array, W: number, touched: Float64Array): void {
  if (!(W > 0)) return;
  if (touched.length > total.length || touched.length > global.length) throw new RangeError(`stretchToTouched: ${touched.length} counters for ${total.length} sums`);
  for (let j = 0; j < touched.length; j++) {
    const g = global[j]!;
    const t = touched[j]!;
    total[j] = t > 0 ? W * g + (total[j]! - W * g) * (W / t) : W * g;
  }
}
