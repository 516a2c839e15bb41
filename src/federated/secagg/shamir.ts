// Shamir t-of-n secret sharing over GF(p) (field.ts) with error-correcting reconstruction: shares are
// points of a random polynomial of degree t − 1 whose constant term is the secret. Any t points give
// it back (Lagrange); with m > t points, up to ⌊(m − t)/2⌋ wrong ones are located and left out
// (Berlekamp–Welch decoding of the Reed–Solomon code the shares form). Callers still check the
// decoded secret against a commitment, since more wrong shares than that can fool any decoder.
import { inv, mod, randomElement } from "./field.js";

export interface Share {
  /** Evaluation point (non-zero, distinct per holder). */
  x: bigint;
  y: bigint;
}

/** The evaluation point of client `id`: id + 1, so that no client holds the secret itself (x = 0). */
export function sharePoint(id: number): bigint {
  return BigInt(id) + 1n;
}

/** Shares of `secret` at `points` such that any `threshold` of them determine it. */
export function splitSecret(secret: bigint, threshold: number, points: readonly bigint[], random: (bytes: Uint8Array) => void): bigint[] {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > points.length) {
    throw new RangeError(`shamir: threshold ${threshold} must be an integer in [1, ${points.length}]`);
  }
  const coeffs = [mod(secret)];
  for (let i = 1; i < threshold; i++) coeffs.push(randomElement(random));
  return points.map((x) => evalPoly(coeffs, x));
}

/** Horner evaluation of the polynomial with coefficients `c` (lowest degree first). */
function evalPoly(c: readonly bigint[], x: bigint): bigint {
  let y = 0n;
  for (let i = c.length - 1; i >= 0; i--) y = mod(y * x + c[i]!);
  return y;
}

/**
 * Lagrange interpolation through fixed points xs, in barycentric form: the weights
 * w_i = 1 / Π_{j≠i}(x_i − x_j) cost t inversions once, then each evaluation costs O(t)
 * multiplications and no inversion, which matters when one server decodes ~n secrets whose shares
 * all sit at the same points.
 */
export class Interpolator {
  private readonly w: bigint[];

  constructor(readonly xs: readonly bigint[]) {
    if (new Set(xs).size !== xs.length) throw new RangeError("shamir: evaluation points must be distinct");
    this.w = xs.map((xi, i) => {
      let d = 1n;
      xs.forEach((xj, j) => {
        if (j !== i) d = mod(d * (xi - xj));
      });
      return inv(d);
    });
  }

  /** Value at x of the polynomial of degree < xs.length through (xs[i], ys[i]); x must not be one of xs. */
  at(ys: readonly bigint[], x: bigint): bigint {
    const n = this.xs.length;
    // suffix[i] = Π_{j≥i}(x − x_j), so Π_{j≠i}(x − x_j) = prefix · suffix[i + 1]
    const suffix = new Array<bigint>(n + 1);
    suffix[n] = 1n;
    for (let i = n - 1; i >= 0; i--) suffix[i] = mod(suffix[i + 1]! * (x - this.xs[i]!));
    let prefix = 1n;
    let sum = 0n;
    for (let i = 0; i < n; i++) {
      sum += ys[i]! * this.w[i]! * prefix * suffix[i + 1]!;
      prefix = mod(prefix * (x - this.xs[i]!));
    }
    return mod(sum);
  }
}

export interface Decoded {
  secret: bigint;
  /** Indices (into the shares given) of the shares that are not on the decoded polynomial. */
  wrong: number[];
}

/**
 * The secret behind `shares` (distinct points) and which shares are wrong, or null when the shares
 * admit no polynomial of degree < threshold within ⌊(m − t)/2⌋ errors. With exactly t shares there
 * is no redundancy: the result is whatever they interpolate to, and only a commitment can tell.
 * `cache` keeps interpolators across calls (the same t points recur for every secret of a round).
 */
export function decodeShares(shares: readonly Share[], threshold: number, cache?: Map<string, Interpolator>): Decoded | null {
  const m = shares.length;
  if (m < threshold) throw new RangeError(`shamir: ${m} shares for threshold ${threshold}`);
  const head = shares.slice(0, threshold);
  const key = head.map((s) => s.x.toString(36)).join(",");
  let interp = cache?.get(key);
  if (!interp) {
    interp = new Interpolator(head.map((s) => s.x));
    cache?.set(key, interp);
  }
  const ys = head.map((s) => s.y);
  let consistent = true;
  for (let i = threshold; i < m && consistent; i++) consistent = interp.at(ys, shares[i]!.x) === shares[i]!.y;
  if (consistent) return { secret: interp.at(ys, 0n), wrong: [] };
  return berlekampWelch(shares, threshold);
}

/**
 * Berlekamp–Welch: find E (monic, degree e) and Q (degree < e + t) with Q(x_i) = y_i·E(x_i) for all
 * i; then the polynomial is Q / E, exact whenever at most e shares are wrong. O(m³) field
 * operations, used only when the shares disagree.
 */
function berlekampWelch(shares: readonly Share[], t: number): Decoded | null {
  const m = shares.length;
  const e = Math.floor((m - t) / 2);
  if (e === 0) return null;
  const cols = e + t + e; // q_0..q_{e+t−1}, then E_0..E_{e−1}
  const rows = shares.map(({ x, y }) => {
    const row = new Array<bigint>(cols + 1);
    let xp = 1n;
    for (let j = 0; j < e + t; j++) {
      row[j] = xp;
      if (j < e) row[e + t + j] = mod(-y * xp);
      if (j === e) row[cols] = mod(y * xp); // right-hand side y·x^e
      xp = mod(xp * x);
    }
    return row;
  });
  const z = solve(rows, cols);
  if (!z) return null;
  const q = z.slice(0, e + t);
  const E = [...z.slice(e + t), 1n];
  const p = divide(q, E);
  if (!p) return null;
  const wrong: number[] = [];
  shares.forEach((s, i) => {
    if (evalPoly(p, s.x) !== s.y) wrong.push(i);
  });
  return wrong.length <= e ? { secret: p[0] ?? 0n, wrong } : null;
}

/** One solution of the augmented system (free variables 0), or null when it has none. */
function solve(a: bigint[][], cols: number): bigint[] | null {
  const pivots: number[] = [];
  let r = 0;
  for (let c = 0; c < cols && r < a.length; c++) {
    const found = a.findIndex((row, i) => i >= r && row[c] !== 0n);
    if (found < 0) continue;
    [a[r], a[found]] = [a[found]!, a[r]!];
    const pr = a[r]!;
    const f = inv(pr[c]!);
    for (let j = c; j <= cols; j++) pr[j] = mod(pr[j]! * f);
    for (let i = 0; i < a.length; i++) {
      const row = a[i]!;
      if (i === r || row[c] === 0n) continue;
      const g = row[c]!;
      for (let j = c; j <= cols; j++) row[j] = mod(row[j]! - g * pr[j]!);
    }
    pivots.push(c);
    r++;
  }
  for (let i = r; i < a.length; i++) if (a[i]![cols] !== 0n) return null;
  const z = new Array<bigint>(cols).fill(0n);
  pivots.forEach((c, i) => (z[c] = a[i]![cols]!));
  return z;
}

/** num / den for a monic den, or null when the division leaves a remainder. */
function divide(num: readonly bigint[], den: readonly bigint[]): bigint[] | null {
  const rem = num.slice();
  const dd = den.length - 1;
  const out = new Array<bigint>(Math.max(0, rem.length - dd)).fill(0n);
  for (let i = rem.length - 1; i >= dd; i--) {
    const c = rem[i]!;
    if (c === 0n) continue;
    out[i - dd] = c;
    for (let j = 0; j <= dd; j++) rem[i - dd + j] = mod(rem[i - dd + j]! - c * den[j]!);
  }
  return rem.slice(0, dd).every((c) => c === 0n) ? out : null;
}
