// FoolsGold trust (Fung, Yoon, Beschastnikh, "The Limitations of Federated Learning in Sybil
// Settings", RAID 2020): sybils pushing one goal send updates far more alike than honest clients
// with their own data do, so each client is trusted by how unlike the others it is. Per round:
//   1. cs[i][j] = cosine of the update rows i and j (i ≠ j); v[i] = max_j cs[i][j];
//   2. pardoning: an honest client that merely resembles a sybil should not pay the sybil's price,
//      so cs[i][j] is scaled by v[i]/v[j] when v[j] > v[i];
//   3. α[i] = 1 − max_j cs[i][j], clamped to [0, 1], then divided by the largest α;
//   4. logit rescaling, ln(α/(1−α)) + 1/2 (κ = 1) clamped to [0, 1], pushes the clear cases to 0
//      or 1 (α = 1 becomes 0.99 so the logit stays finite).
// The paper keeps each client's summed history of updates; clients here are sampled anew every
// round (and the coordinator keeps no per-client update, README "Minimal logs"), so it compares
// one round's rows.
//
// The Gram matrix of the rows is the cost: n × n dot products of length d (a KuaiSAR-R round:
// ~1,900 × 32,900). It runs on the backend's GEMM (gemmABt) over column blocks of about
// BLOCK_VALUES floats, accumulating into the n × n result, so memory stays n² + BLOCK_VALUES
// floats. Each row is first divided by its largest |value| (cosine does not see scale) so the f32
// products neither overflow nor underflow.
import type { Backend } from "../../kernels/backend.js";

/** Floats in the column block copied into the backend (2 MiB). */
const BLOCK_VALUES = 1 << 19;

/** α = 1 becomes this before the logit, whose value there is infinite. */
const ALPHA_CAP = 0.99;

/** The n × n Gram matrix of the rows (each scaled by 1/max|value|), row-major, as f64. */
export function gramOfRows(be: Backend, rows: readonly Float32Array[]): Float64Array {
  const n = rows.length;
  const d = n > 0 ? rows[0]!.length : 0;
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (const x of rows[i]!) m = Math.max(m, Math.abs(x));
    inv[i] = m > 0 ? 1 / m : 0;
  }
  const width = Math.max(1, Math.min(d, Math.floor(BLOCK_VALUES / Math.max(1, n))));
  const a = be.alloc(n * width);
  const g = be.alloc(n * n);
  try {
    for (let c0 = 0; c0 < d; c0 += width) {
      const b = Math.min(width, d - c0);
      const f = be.f;
      for (let i = 0; i < n; i++) {
        const row = rows[i]!;
        const s = inv[i]!;
        const at = a + i * b;
        for (let j = 0; j < b; j++) f[at + j] = row[c0 + j]! * s;
      }
      be.gemmABt(a, a, g, n, n, b, c0 > 0 ? 1 : 0);
    }
    return Float64Array.from(be.f.subarray(g, g + n * n));
  } finally {
    be.free(g);
    be.free(a);
  }
}

/**
 * Each row's trust in [0, 1] from the rows' pairwise cosines (steps above). A zero row has cosine 0
 * with everyone; a single row is trusted fully; if every row is the same, all get 0.
 */
export function foolsGoldTrust(be: Backend, rows: readonly Float32Array[]): Float64Array {
  const n = rows.length;
  const g = gramOfRows(be, rows);
  const cs = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const den = Math.sqrt(g[i * n + i]! * g[j * n + j]!);
      cs[i * n + j] = i === j || !(den > 0) ? 0 : Math.max(-1, Math.min(1, g[i * n + j]! / den));
    }
  }
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = maxOfRow(cs, i, n);
  for (let i = 0; i < n; i++) {
    // a client unlike everyone (v ≤ 0) needs no pardon, and a negative ratio would flip signs
    if (v[i]! > 0) for (let j = 0; j < n; j++) if (v[j]! > v[i]!) cs[i * n + j] *= v[i]! / v[j]!;
  }
  const alpha = new Float64Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    alpha[i] = Math.max(0, Math.min(1, 1 - maxOfRow(cs, i, n)));
    top = Math.max(top, alpha[i]!);
  }
  if (top === 0) return alpha;
  for (let i = 0; i < n; i++) {
    const x = Math.min(ALPHA_CAP, alpha[i]! / top);
    alpha[i] = x > 0 ? Math.max(0, Math.min(1, Math.log(x / (1 - x)) + 0.5)) : 0;
  }
  return alpha;
}

/** Largest off-diagonal value of row i (0 for a single row: nobody to resemble). */
function maxOfRow(cs: Float64Array, i: number, n: number): number {
  let m = n > 1 ? -Infinity : 0;
  for (let j = 0; j < n; j++) if (j !== i) m = Math.max(m, cs[i * n + j]!);
  return m;
}
