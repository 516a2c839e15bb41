// Seeds derived from (run seed, round, client, purpose) alone, never from a generator shared across
// clients, so that a client's dropout masks do not depend on which worker ran it, or when.

/** What a derived seed is for, so that two uses of the same (round, client) never share a stream. */
export const enum Stream {
  Init = 1,
  Sample = 2,
  Dropout = 3,
  Shuffle = 4,
  Bootstrap = 5,
  /** DP: the coordinator's noise of a round (dp-aggregation.ts). */
  CentralNoise = 6,
  /** DP: a client's own noise in local mode (dp-client.ts). */
  ClientNoise = 7,
}

/** A 32-bit seed that mixes every part (murmur3's finaliser after each word). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    if (!Number.isInteger(p)) throw new RangeError(`deriveSeed: parts must be integers, got ${p}`);
    h = fmix(h ^ fmix((p >>> 0) ^ Math.imul(Math.floor(p / 4294967296), 0x9e3779b1)));
    h = Math.imul(h, 5) + 0xe6546b64;
  }
  return fmix(h) >>> 0;
}

function fmix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}
