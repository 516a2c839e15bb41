// Position of a value among a sorted set of distinct values: how raw ids become dense indices and raw
// field values become codes. Keys that are small non-negative integers (KuaiSAR's ids and fields all
// are) get a direct lookup table; anything else a binary search.

/** Dense tables are used while they cost at most this many slots per key (plus a constant). */
const DENSE_SLOTS_PER_KEY = 4;

export class KeyIndex {
  private readonly dense: Int32Array | null;

  /** @param keys distinct values in ascending order (not copied) */
  constructor(readonly keys: Float64Array) {
    const n = keys.length;
    const max = n ? keys[n - 1] : -1;
    if (n && keys[0] >= 0 && Number.isInteger(max) && max < DENSE_SLOTS_PER_KEY * n + 1024 && keys.every(Number.isInteger)) {
      this.dense = new Int32Array(max + 1).fill(-1);
      for (let k = 0; k < n; k++) this.dense[keys[k]] = k;
    } else {
      this.dense = null;
    }
  }

  /** Ascending distinct values of `values`. */
  static of(values: Float64Array): KeyIndex {
    let min = Infinity;
    let max = -Infinity;
    let integers = true;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
      if (integers && !Number.isInteger(v)) integers = false;
    }
    // Small non-negative integers: mark which occur instead of sorting (one pass, no comparisons).
    if (integers && min >= 0 && max < DENSE_SLOTS_PER_KEY * values.length + 1024) {
      const seen = new Uint8Array(max + 1);
      let n = 0;
      for (const v of values) if (!seen[v]) n += seen[v] = 1;
      const keys = new Float64Array(n);
      for (let v = 0, k = 0; k < n; v++) if (seen[v]) keys[k++] = v;
      return new KeyIndex(keys);
    }
    const sorted = values.slice().sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i];
    return new KeyIndex(sorted.subarray(0, n));
  }

  get size(): number {
    return this.keys.length;
  }

  /** Index k with keys[k] === v, or -1. */
  find(v: number): number {
    const d = this.dense;
    if (d) return v >= 0 && v < d.length && Number.isInteger(v) ? d[v] : -1;
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid];
      if (k < v) lo = mid + 1;
      else if (k > v) hi = mid - 1;
      else return mid;
    }
    return -1;
  }
}
