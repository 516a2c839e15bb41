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
