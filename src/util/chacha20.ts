// A keyed cryptographic random stream: the ChaCha20 block function (RFC 8439) under a 256-bit key,
// one stream per 96-bit nonce. For the randomness that must stay secret yet reproducible for whoever
// holds the key — the DP coordinator's sample and noise (coordinator/dp-round.ts): Rng (xoshiro128**
// from a 32-bit seed) can be searched in minutes and its state follows from a few outputs, while
// WebCrypto's getRandomValues cannot be replayed. Browser-safe (no node:* imports).
import { boxMuller } from "./box-muller.js";

/** Words of a key (256 bits) and of a nonce (96 bits). */
const KEY_WORDS = 8;
const NONCE_WORDS = 3;

/** "expand 32-byte k", little-endian. */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

/** ChaCha20's block `counter` under `key` and `nonce`: 16 words (the keystream, little-endian words). */
export function chachaBlock(key: ArrayLike<number>, nonce: ArrayLike<number>, counter: number, out: Uint32Array): void {
  const s = new Uint32Array(16);
  s.set(SIGMA, 0);
  for (let i = 0; i < KEY_WORDS; i++) s[4 + i] = key[i]!;
  s[12] = counter;
  for (let i = 0; i < NONCE_WORDS; i++) s[13 + i] = nonce[i]!;
  const x = s.slice();
  for (let round = 0; round < 10; round++) {
    quarter(x, 0, 4, 8, 12);
    quarter(x, 1, 5, 9, 13);
    quarter(x, 2, 6, 10, 14);
    quarter(x, 3, 7, 11, 15);
    quarter(x, 0, 5, 10, 15);
    quarter(x, 1, 6, 11, 12);
    quarter(x, 2, 7, 8, 13);
    quarter(x, 3, 4, 9, 14);
  }
  for (let i = 0; i < 16; i++) out[i] = x[i]! + s[i]!;
}

function quarter(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  x[a] = x[a]! + x[b]!;
  x[d] = rotl(x[d]! ^ x[a]!, 16);
  x[c] = x[c]! + x[d]!;
  x[b] = rotl(x[b]! ^ x[c]!, 12);
  x[a] = x[a]! + x[b]!;
  x[d] = rotl(x[d]! ^ x[a]!, 8);
  x[c] = x[c]! + x[d]!;
  x[b] = rotl(x[b]! ^ x[c]!, 7);
}

function rotl(v: number, n: number): number {
  return (v << n) | (v >>> (32 - n));
}

/** Checks a key: 8 integers in [0, 2^32). */
export function checkKey(key: ArrayLike<number>, what: string): void {
  checkWords(key, KEY_WORDS, what);
}

function checkWords(ws: ArrayLike<number>, n: number, what: string): void {
  if (ws.length !== n || !Array.from(ws).every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
    throw new RangeError(`${what} must be ${n} integers in [0, 2^32), got ${JSON.stringify(Array.from(ws))}`);
  }
}

/** A fresh random key from WebCrypto. */
export function randomKey(): number[] {
  return Array.from(globalThis.crypto.getRandomValues(new Uint32Array(KEY_WORDS)));
}

/**
 * The keystream of (key, nonce) as numbers: uniform u32 words, uniforms in [0, 1) with 53 bits, and
 * standard normals (Box–Muller, as the devices' WebCrypto noise: secagg/noised-vector.ts).
 */
export class KeyedStream {
  private readonly key: Uint32Array;
  private readonly nonce: Uint32Array;
  private readonly block = new Uint32Array(16);
  private counter = 0;
  private at = 16;
  // 1 − u in (0, 1]: the log is finite
  private readonly normals = boxMuller(() => 1 - this.next());

  constructor(key: ArrayLike<number>, nonce: ArrayLike<number>) {
    checkKey(key, "KeyedStream: the key");
    checkWords(nonce, NONCE_WORDS, "KeyedStream: the nonce");
    this.key = Uint32Array.from(key);
    this.nonce = Uint32Array.from(nonce);
  }

  nextU32(): number {
    if (this.at === 16) {
      // 2^32 blocks of 64 bytes (256 GiB) per nonce: far beyond one round's draws
      if (this.counter > 0xffffffff) throw new RangeError("KeyedStream: the stream is exhausted");
      chachaBlock(this.key, this.nonce, this.counter++, this.block);
      this.at = 0;
    }
    return this.block[this.at++]!;
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    const hi = this.nextU32() >>> 11;
    return (hi * 2 ** 32 + this.nextU32()) / 2 ** 53;
  }

  normal(): number {
    return this.normals.normal();
  }
}
