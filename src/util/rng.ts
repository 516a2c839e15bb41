// Seeded pseudo-random numbers. Every random choice in fedfacet (init, dropout, sampling, synthetic
// data, property-test inputs) draws from an Rng passed in explicitly, so runs are reproducible.

/** xoshiro128** (Blackman & Vigna): small state, fast in JS's 32-bit integer arithmetic. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng: seed must be a finite number, got ${seed}`);
    // splitmix32 expands one seed into four non-zero state words.
    let x = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** The four state words (u32): with setState, how a kernel continues this very stream (dropout masks). */
  getState(): [number, number, number, number] {
    // the xor updates leave words as signed int32: report their bits as u32
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** Continues from four state words (as getState returns them; i32 words are read as their bits). */
  setState(s: ArrayLike<number>): void {
    if (s.length !== 4) throw new RangeError(`Rng.setState: needs 4 state words, got ${s.length}`);
    const w = Array.from(s, (x, k) => {
      if (!Number.isInteger(x)) throw new RangeError(`Rng.setState: word ${k} is not an integer (${x})`);
      return x >>> 0;
    });
    // xoshiro's all-zero state is a fixed point: the generator would return 0 for ever
    if (w.every((x) => x === 0)) throw new RangeError("Rng.setState: the state must not be all zero");
    [this.s0, this.s1, this.s2, this.s3] = w as [number, number, number, number];
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Rng.int: n must be >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, caching the second draw). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A new generator whose stream is independent of this one's future draws. */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
