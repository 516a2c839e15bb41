// Shamir sharing over GF(2^256 + 297): the prime is what it claims, field helpers invert and
// round-trip, any t of n shares give the secret back, up to ⌊(m − t)/2⌋ wrong shares among m are
// located exactly, and t shares alone cannot reveal a wrong one (hence the commitments).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { bigToBytes, bytesToBig, inv, mod, P } from "../src/federated/secagg/field.js";
import { decodeShares, sharePoint, splitSecret, type Share } from "../src/federated/secagg/shamir.js";
import { seededRandom } from "./secagg-harness.js";

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

/** Miller–Rabin with the first 20 primes as bases: a composite passes with probability < 4^-20. */
function probablyPrime(n: bigint): boolean {
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) [d, s] = [d >> 1n, s + 1];
  for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n, 43n, 47n, 53n, 59n, 61n, 67n, 71n]) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let witness = true;
    for (let i = 1; i < s && witness; i++) {
      x = (x * x) % n;
      if (x === n - 1n) witness = false;
    }
    if (witness) return false;
  }
  return true;
}

const secretArb = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const elementArb = fc.bigInt({ min: 1n, max: P - 1n });

test("p = 2^256 + 297 is the smallest prime above 2^256", () => {
  assert.ok(probablyPrime(P));
  for (let c = 1n; c < 297n; c += 2n) assert.not.ok(probablyPrime((1n << 256n) + c), `2^256 + ${c}`);
});

test("field: a·a⁻¹ = 1, zero has no inverse, bytes round-trip, too-large values are refused", () => {
  fc.assert(fc.property(elementArb, (a) => mod(a * inv(a)) === 1n));
  assert.throws(() => inv(P), /zero has no inverse/);
  fc.assert(fc.property(fc.uint8Array({ minLength: 33, maxLength: 33 }), (b) => bigToBytes(bytesToBig(b), 33).every((v, i) => v === b[i])));
  assert.throws(() => bigToBytes(1n << 256n, 32), /does not fit in 32 bytes/);
  assert.throws(() => bigToBytes(-1n, 32), /does not fit/);
  assert.equal(Array.from(bigToBytes(0n, 2)), [0, 0]);
});

/** Shares of `secret` for clients 0..n−1, as decodeShares takes them. */
function shares(secret: bigint, t: number, n: number, seed: number): Share[] {
  const xs = Array.from({ length: n }, (_, i) => sharePoint(i * 3)); // sparse ids, like a real cohort
  return splitSecret(secret, t, xs, seededRandom(seed)).map((y, i) => ({ x: xs[i]!, y }));
}

/** At least `min` distinct indices below n, in a random order. */
const subsetArb = (n: number, min: number) => fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: min });

test("any t or more shares, in any order, give the secret back with no share flagged", () => {
  const arb = fc.integer({ min: 2, max: 7 }).chain((t) =>
    fc.integer({ min: t, max: 12 }).chain((n) => fc.record({ t: fc.constant(t), n: fc.constant(n), secret: secretArb, seed: fc.integer(), pick: subsetArb(n, t) })),
  );
  fc.assert(
    fc.property(arb, ({ t, n, secret, seed, pick }) => {
      const all = shares(secret, t, n, seed);
      const got = decodeShares(pick.map((i) => all[i]!), t);
      return got !== null && got.secret === secret && got.wrong.length === 0;
    }),
    { numRuns: 150 },
  );
});

test("up to ⌊(m − t)/2⌋ wrong shares are located exactly and the secret still comes back", () => {
  const arb = fc.integer({ min: 2, max: 6 }).chain((t) =>
    fc.integer({ min: t + 2, max: 14 }).chain((m) =>
      fc.record({
        t: fc.constant(t),
        m: fc.constant(m),
        secret: secretArb,
        seed: fc.integer(),
        bad: fc.uniqueArray(fc.integer({ min: 0, max: m - 1 }), { minLength: 1, maxLength: Math.floor((m - t) / 2) }),
        delta: elementArb,
      }),
    ),
  );
  fc.assert(
    fc.property(arb, ({ t, m, secret, seed, bad, delta }) => {
      const given = shares(secret, t, m, seed).map((s, i) => (bad.includes(i) ? { x: s.x, y: mod(s.y + delta) } : s));
      const got = decodeShares(given, t);
      return got !== null && got.secret === secret && got.wrong.join() === [...bad].sort((a, b) => a - b).join();
    }),
    { numRuns: 120 },
  );
});

test("with t shares a wrong one goes unnoticed by decoding (it changes the secret), fewer than t are refused", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), secretArb, fc.integer(), elementArb, (t, secret, seed, delta) => {
      const given = shares(secret, t, t, seed);
      given[0] = { x: given[0]!.x, y: mod(given[0]!.y + delta) };
      const got = decodeShares(given, t);
      return got !== null && got.secret !== secret && got.wrong.length === 0;
    }),
    { numRuns: 60 },
  );
  assert.throws(() => decodeShares(shares(5n, 3, 3, 1).slice(1), 3), /2 shares for threshold 3/);
  assert.throws(() => splitSecret(5n, 4, [1n, 2n, 3n], seededRandom(1)), /threshold 4 must be an integer in \[1, 3\]/);
});

test("one more wrong share than can be located is never passed off as a clean decode", () => {
  // m = t + 2 locates one error; with two, decoding either fails or reports disagreeing shares
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 6 }), secretArb, fc.integer(), elementArb, elementArb, (t, secret, seed, d1, d2) => {
      const given = shares(secret, t, t + 2, seed);
      given[0] = { x: given[0]!.x, y: mod(given[0]!.y + d1) };
      given[1] = { x: given[1]!.x, y: mod(given[1]!.y + d2) };
      const got = decodeShares(given, t);
      return got === null || got.wrong.length > 0;
    }),
    { numRuns: 60 },
  );
});

test.run();
