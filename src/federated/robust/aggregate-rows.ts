// One aggregation rule (rules.ts) applied to the clients' updates for one aggregated unit (the
// shared partition, or one group expert): rows of equal length, one per client, in, one vector out.
// Transport-free: the in-process engine and the HTTP coordinator both call it.
//
// Memory: the rows are read where they lie (no copy of the n × d matrix); coordinates are processed
// in column blocks, transposed into a scratch of about COLUMN_BLOCK_VALUES doubles so that each
// coordinate's n values are contiguous for the O(n) selection (select.ts).
// Order: the output does not depend on the order of the rows, bit for bit: order statistics depend
// only on the multiset of values, and every sum is the correctly rounded exact sum (exact-sum.ts).
import { ExactSum, sumInPlace } from "../../util/exact-sum.js";
import { medianOf, selectKth } from "../../util/select.js";
import { checkRule, type Rule } from "./rules.js";

/** Doubles in the transposed column block (4 MiB). */
const COLUMN_BLOCK_VALUES = 1 << 19;

export interface ClientRows {
  /** One update per client, all of the same length. */
  rows: readonly Float32Array[];
  /** The clients' ids (named by errors), same order. */
  clients: ArrayLike<number>;
  /** Weights of the mean and of norm bounding (median and trimmed mean need them all equal). */
  weights: ArrayLike<number>;
  /** foolsgold only (required there): each client's trust in [0, 1] (foolsgold.ts). */
  trust?: ArrayLike<number>;
}

/** What the aggregation did beyond its output (for reports). */
export interface RowsSummary {
  /** normbound, foolsgold, rlr: the bound applied and how many clients it scaled down; otherwise null and 0. */
  bound: number | null;
  clipped: number;
  /** rlr, consensus: how many coordinates had a sign agreement below θ (stepped against the mean, or kept); otherwise 0. */
  lowAgreement: number;
}

/**
 * Writes the rule's aggregate of the rows into `out` (its length is the rows' length). Throws naming
 * the client when a row holds NaN or ±Inf, has the wrong length or a weight is not positive.
 */
export function aggregateRows(rule: Rule, input: ClientRows, out: Float64Array): RowsSummary {
  checkRule(rule);
  const { rows, clients, weights } = input;
  const n = rows.length;
  const d = out.length;
  if (n === 0) throw new RangeError("aggregateRows: no clients to aggregate");
  if (clients.length !== n || weights.length !== n) throw new RangeError(`aggregateRows: ${n} rows, ${clients.length} client ids, ${weights.length} weights`);
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    if (row.length !== d) throw new RangeError(`aggregateRows: client ${clients[i]} sent ${row.length} values, expected ${d}`);
    const w = weights[i]!;
    if (!(w > 0 && Number.isFinite(w))) throw new RangeError(`aggregateRows: client ${clients[i]} has weight ${w}, expected a positive number`);
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(row[j]!)) throw new RangeError(`aggregateRows: client ${clients[i]} sent a non-finite value (${row[j]}) at coordinate ${j}`);
    }
  }
  if (rule.kind === "median" || rule.kind === "trimmed") {
    for (let i = 1; i < n; i++) {
      if (weights[i] !== weights[0]) throw new RangeError(`aggregateRows: ${rule.kind} counts every client once, but client ${clients[i]} has weight ${weights[i]} and client ${clients[0]} ${weights[0]}`);
    }
  }
  const trust = rule.kind === "foolsgold" ? checkedTrust(input) : null;
  // the factor each client's values are multiplied by before the column rule
  const factor = new Float64Array(n);
  const voting = rule.kind === "rlr" || rule.kind === "consensus";
  const bounded = voting || rule.kind === "normbound" || rule.kind === "foolsgold";
  const summary: RowsSummary = bounded ? clipFactors(rows, rule.bound, factor) : { bound: null, clipped: 0, lowAgreement: 0 };
  if (!bounded) factor.fill(1);
  const sum = new ExactSum();
  let weightTotal = 0;
  if (rule.kind !== "median" && rule.kind !== "trimmed") {
    for (let i = 0; i < n; i++) {
      const w = weights[i]! * (trust ? trust[i]! : 1);
      sum.add(w);
      factor[i] *= w;
    }
    weightTotal = sum.value();
    // nobody trusted (every update alike): the round changes nothing
    if (weightTotal === 0) {
      out.fill(0);
      return summary;
    }
  }
  const trimmed = rule.kind === "trimmed" ? Math.floor(rule.trim * n) : 0;
  // rlr, consensus: the votes come from the clients' own values (a zero clip or trust factor must not silence them)
  const theta = Math.ceil(rule.agree * n);
  const width = Math.max(1, Math.floor(COLUMN_BLOCK_VALUES / n));
  const col = new Float64Array(Math.min(width, d) * n);
  const votes = voting ? new Int32Array(Math.min(width, d)) : null;
  for (let c0 = 0; c0 < d; c0 += width) {
    const b = Math.min(width, d - c0);
    votes?.fill(0);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      const f = factor[i]!;
      for (let j = 0; j < b; j++) col[j * n + i] = row[c0 + j]! * f;
      if (votes) for (let j = 0; j < b; j++) votes[j] += Math.sign(row[c0 + j]!);
    }
    for (let j = 0; j < b; j++) {
      const lo = j * n;
      const hi = lo + n;
      switch (rule.kind) {
        case "median":
          out[c0 + j] = medianOf(col, lo, hi);
          break;
        case "trimmed":
          out[c0 + j] = trimmedMean(col, lo, hi, trimmed, sum);
          break;
        default:
          out[c0 + j] = sumInPlace(col, lo, hi, sum) / weightTotal;
      }
      if (votes && Math.abs(votes[j]!) < theta) {
        out[c0 + j] = rule.kind === "rlr" ? 0 - out[c0 + j]! : 0;
        summary.lowAgreement++;
      }
    }
  }
  return summary;
}

function checkedTrust(input: ClientRows): ArrayLike<number> {
  const { trust, clients } = input;
  if (!trust) throw new RangeError("aggregateRows: foolsgold needs each client's trust");
  if (trust.length !== clients.length) throw new RangeError(`aggregateRows: ${clients.length} clients, ${trust.length} trust values`);
  for (let i = 0; i < trust.length; i++) {
    if (!(trust[i]! >= 0 && trust[i]! <= 1)) throw new RangeError(`aggregateRows: client ${clients[i]} has trust ${trust[i]}, expected a number in [0, 1]`);
  }
  return trust;
}

/** Writes min(1, C/‖row‖) per client; C is the fixed bound or the median of the norms. */
function clipFactors(rows: readonly Float32Array[], bound: Rule["bound"], factor: Float64Array): RowsSummary {
  const n = rows.length;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    let s = 0;
    for (let j = 0; j < row.length; j++) s += row[j]! * row[j]!;
    norms[i] = Math.sqrt(s);
  }
  const C = bound === "median" ? medianOf(Float64Array.from(norms), 0, n) : bound;
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    const over = norms[i]! > C;
    factor[i] = over ? C / norms[i]! : 1;
    if (over) clipped++;
  }
  return { bound: C, clipped, lowAgreement: 0 };
}

/** Mean of a[lo, hi) without its `k` smallest and `k` largest values (rearranges a). */
function trimmedMean(a: Float64Array, lo: number, hi: number, k: number, sum: ExactSum): number {
  if (k > 0) {
    selectKth(a, lo, hi, lo + k - 1);
    selectKth(a, lo + k, hi, hi - k - 1);
  }
  return sumInPlace(a, lo + k, hi - k, sum) / (hi - lo - 2 * k);
}
