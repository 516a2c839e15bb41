// The correctly rounded sum of doubles (Shewchuk, "Adaptive Precision Floating-Point Arithmetic",
// 1997; the method of Python's math.fsum): the running sum is kept exactly as a short list of
// non-overlapping partials, and only the final result is rounded. Since the result is the exact sum
// rounded once, it does not depend on the order of the terms: robust aggregators rely on that so
// that permuting the clients gives bit-identical values.

/** Accumulates terms exactly; reuse one instance with reset() to avoid allocation per sum. */
export class ExactSum {
  /** Non-overlapping partials, increasing in magnitude. */
  private readonly partials: number[] = [];

  reset(): void {
    this.partials.length = 0;
  }

  /** Adds a finite term (the sum of finite doubles may still overflow to ±Inf, see value()). */
  add(x: number): void {
    const p = this.partials;
    let n = 0;
    for (let i = 0; i < p.length; i++) {
      let y = p[i]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[n++] = lo;
      x = hi;
    }
    p.length = n;
    p.push(x);
  }

  /** The exact sum of the terms so far, rounded to the nearest double (ties to even). */
  value(): number {
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // hi + lo is exact; if lo is exactly half an ulp of hi, the partials below decide the direction
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}

/** Terms a level of sumInPlace adds up exactly: 2^21 (each level then resolves 31 bits). */
const MAX_TERMS = 1 << 21;

/**
 * The correctly rounded sum of a[lo, hi) (finite values), as ExactSum gives it, overwriting the
 * values. Faster than adding them to an ExactSum one by one: it cuts every value on a grid of
 * spacing q into a multiple of q and a remainder below q/2; the multiples of q add up exactly in a
 * double (at most 2^21 of them, each below 2^32·q), and the remainders go to the next level on a
 * finer grid, until nothing remains. Only the few level sums go through an ExactSum.
 */
export function sumInPlace(a: Float64Array, lo: number, hi: number, acc: ExactSum): number {
  acc.reset();
  if (hi - lo > MAX_TERMS) {
    for (let i = lo; i < hi; i++) acc.add(a[i]!);
    return acc.value();
  }
  let max = 0;
  for (let i = lo; i < hi; i++) max = Math.max(max, Math.abs(a[i]!));
  // |a[i]| ≤ 2^e (the +1 guards against log2 rounding down)
  let e = Math.ceil(Math.log2(max)) + 1;
  while (max > 0) {
    const k = e - 31;
    // (x + C) − C rounds x to a multiple of 2^k while |x| < 2^(k+51); outside the comfortable
    // exponent range, add the rest one by one
    if (e > 960 || k < -1020) {
      for (let i = lo; i < hi; i++) if (a[i] !== 0) acc.add(a[i]!);
      break;
    }
    const C = 1.5 * 2 ** (k + 52);
    let level = 0;
    max = 0;
    for (let i = lo; i < hi; i++) {
      const x = a[i]!;
      const h = x + C - C;
      const r = x - h;
      level += h;
      a[i] = r;
      max = Math.max(max, Math.abs(r));
    }
    acc.add(level);
    e = k;
  }
  return acc.value();
}
