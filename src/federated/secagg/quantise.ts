// Real-valued updates to integers mod 2^32 and back. Masks only cancel in a ring, so every client
// clips its update to a per-coordinate bound B and rounds x·s to an integer in [−Q, Q], with
// Q = ⌊(2^31 − 1)/n⌋ and s = Q/B for at most n summed inputs: the true sum lies in [−nQ, nQ] ⊂
// (−2^31, 2^31), so read as a signed 32-bit integer it never wraps. Rounding to nearest costs at most
// 1/(2s) per input and coordinate, so the dequantised sum of m inputs is within m/(2s) = m·B/(2Q)
// of the sum of the clipped inputs (about 2.3e-8·B per input for n = 100).

export interface QuantSpec {
  /** Per-coordinate clipping bound B (> 0): values beyond ±B are clipped to it. */
  bound: number;
  /** The most inputs that will be summed (n ≥ 1, typically the cohort size). */
  clients: number;
}

const INT31 = 2 ** 31 - 1;

function checkSpec(spec: QuantSpec): void {
  if (!(Number.isFinite(spec.bound) && spec.bound > 0)) throw new RangeError(`quantise: bound must be a finite number > 0, got ${spec.bound}`);
  if (!Number.isInteger(spec.clients) || spec.clients < 1 || spec.clients > INT31) {
    throw new RangeError(`quantise: clients must be an integer in [1, 2^31 − 1], got ${spec.clients}`);
  }
}

/** Q: the largest level one input may reach. */
export function quantLevels(spec: QuantSpec): number {
  checkSpec(spec);
  return Math.floor(INT31 / spec.clients);
}

/** s = Q / B: integer steps per unit. */
export function quantScale(spec: QuantSpec): number {
  return quantLevels(spec) / spec.bound;
}

/**
 * Clips x to ±bound and writes round(x·s) mod 2^32 into out[offset ..]. NaN or ±Inf anywhere is an
 * error naming the index: a non-finite update must not become a plausible-looking integer.
 */
export function quantiseInto(x: ArrayLike<number>, spec: QuantSpec, out: Uint32Array, offset = 0, what = "x"): void {
  const q = quantLevels(spec);
  const s = q / spec.bound;
  if (offset < 0 || offset + x.length > out.length) throw new RangeError(`quantise: ${x.length} values at offset ${offset} overrun ${out.length}`);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`quantise: ${what}[${i}] is ${v}`);
    // clamp after rounding too: bound·s can round to Q + 1 in floating point
    out[offset + i] = Math.min(q, Math.max(-q, Math.round(v * s))) >>> 0;
  }
}

export function quantise(x: ArrayLike<number>, spec: QuantSpec): Uint32Array {
  const out = new Uint32Array(x.length);
  quantiseInto(x, spec, out);
  return out;
}

/**
 * The real-valued sum of `count` quantised inputs from their sum mod 2^32 (a slice of it from
 * `offset`). A value outside ±count·Q cannot be such a sum (more inputs than spec.clients were
 * added, or the vector is corrupt) and is an error rather than a silently wrapped number.
 */
export function dequantiseSum(sum: Uint32Array, spec: QuantSpec, count: number, offset = 0, length = sum.length - offset): Float64Array {
  const q = quantLevels(spec);
  if (!Number.isInteger(count) || count < 0 || count > spec.clients) {
    throw new RangeError(`dequantise: count must be an integer in [0, ${spec.clients}] (spec.clients), got ${count}`);
  }
  const s = q / spec.bound;
  const limit = count * q;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v = sum[offset + i]! | 0;
    if (Math.abs(v) > limit) throw new RangeError(`dequantise: element ${offset + i} is ${v}, outside ±${limit} for ${count} inputs`);
    out[i] = v / s;
  }
  return out;
}

/** Scales x in place to L2 norm at most maxNorm (a no-op below it); returns the norm before. */
export function clipL2(x: Float32Array, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new RangeError(`clipL2: maxNorm must be a finite number > 0, got ${maxNorm}`);
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += x[i]! * x[i]!;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) throw new RangeError(`clipL2: the vector has a non-finite norm (${norm})`);
  if (norm > maxNorm) {
    const f = maxNorm / norm;
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * f;
  }
  return norm;
}
