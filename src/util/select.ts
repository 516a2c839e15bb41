// Order statistics in O(n) expected time (Hoare's selection, "quickselect"): the coordinate-wise
// median and trimmed mean of robust aggregation need the k-th smallest of n values per coordinate,
// and a sort (n log n) per coordinate would dominate a round on a full cohort.
//
// The values must be finite: NaN compares false with everything and would leave the partition
// meaningless (callers scan their inputs first).

/**
 * Rearranges a[lo, hi) so that a[k] holds the value a sort would put there, every value in
 * [lo, k) is ≤ a[k] and every value in (k, hi) is ≥ a[k]; returns a[k]. Requires lo ≤ k < hi.
 *
 * The result depends only on the multiset of values, never on their order, even though the pivots
 * (median of three at positions drawn from a fixed generator, so that no input order makes it
 * quadratic by accident) do.
 */
export function selectKth(a: Float64Array, lo: number, hi: number, k: number): number {
  if (!(Number.isInteger(k) && lo <= k && k < hi && lo >= 0 && hi <= a.length)) throw new RangeError(`selectKth: index ${k} is not in [${lo}, ${hi}) of ${a.length} values`);
  let l = lo;
  let r = hi - 1;
  let state = 0x9e3779b9 ^ (hi - lo);
  while (r > l) {
    // xorshift32: cheap, deterministic pivot positions
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const span = r - l + 1;
    const p = medianOf3(a[l + ((state >>> 0) % span)]!, a[l + (((state >>> 0) * 7 + 1) % span)]!, a[l + (span >> 1)]!);
    let i = l;
    let j = r;
    while (i <= j) {
      while (a[i]! < p) i++;
      while (a[j]! > p) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    // now [l, j] ≤ p, [i, r] ≥ p, and everything strictly between j and i equals p
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else break;
  }
  return a[k]!;
}

/** Smallest value of a[lo, hi) (hi > lo). */
export function minOf(a: Float64Array, lo: number, hi: number): number {
  let m = a[lo]!;
  for (let i = lo + 1; i < hi; i++) if (a[i]! < m) m = a[i]!;
  return m;
}

/**
 * Median of a[lo, hi) (rearranged): the middle value, or the mean of the two middle values for an
 * even count.
 */
export function medianOf(a: Float64Array, lo: number, hi: number): number {
  const n = hi - lo;
  if (n < 1) throw new RangeError("medianOf: no values");
  const mid = lo + ((n - 1) >> 1);
  const low = selectKth(a, lo, hi, mid);
  if (n % 2 === 1) return low;
  // after the selection the upper middle value is the smallest of what lies above it
  return (low + minOf(a, mid + 1, hi)) / 2;
}

function medianOf3(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
}
