// Adjusted Rand index (Hubert & Arabie 1985): agreement of two partitions of the same items,
// corrected for chance: 1 for identical partitions (up to relabelling), about 0 for independent
// ones, whatever the cluster sizes. Used to ask whether a gate's routes follow planted groups.

export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`adjustedRandIndex: ${n} and ${b.length} labels`);
  if (n < 2) throw new RangeError("adjustedRandIndex: needs at least 2 items");
  const pairs = (x: number) => (x * (x - 1)) / 2;
  const cells = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!Number.isInteger(x) || !Number.isInteger(y)) throw new RangeError(`adjustedRandIndex: label ${i} is not an integer`);
    const key = `${x},${y}`;
    cells.set(key, (cells.get(key) ?? 0) + 1);
    rows.set(x, (rows.get(x) ?? 0) + 1);
    cols.set(y, (cols.get(y) ?? 0) + 1);
  }
  let index = 0;
  for (const c of cells.values()) index += pairs(c);
  let sa = 0;
  for (const c of rows.values()) sa += pairs(c);
  let sb = 0;
  for (const c of cols.values()) sb += pairs(c);
  const expected = (sa * sb) / pairs(n);
  const max = (sa + sb) / 2;
  // both partitions trivial (one cluster each, or all singletons): they agree exactly
  return max === expected ? 1 : (index - expected) / (max - expected);
}
