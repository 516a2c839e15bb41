// Arithmetic in GF(p), p = 2^256 + 297, the smallest prime above 2^256. Every secret that is
// Shamir-shared (a 32-byte self-mask seed, a 32-byte X25519 private key) is then ONE field element,
// so a secret is one polynomial and one share per peer (33 bytes), and no encoding can overflow.
// A small field such as GF(2^61 − 1) would need the 256-bit secret cut into five pieces, five
// polynomials and five shares per peer for the same security; BigInt arithmetic on 257-bit numbers
// costs about 0.3 µs per multiplication here, far below the key agreements and mask expansions.

/** The field's prime, 2^256 + 297. */
export const P = (1n << 256n) + 297n;

/** Bytes of a serialised field element (big-endian, < p < 2^257). */
export const ELEMENT_BYTES = 33;

/** Bytes of a secret (seed or private key); secrets are elements below 2^256. */
export const SECRET_BYTES = 32;

export function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

/** Multiplicative inverse by the extended Euclidean algorithm (a must be non-zero mod p). */
export function inv(a: bigint): bigint {
  let r0 = P;
  let r1 = mod(a);
  if (r1 === 0n) throw new RangeError("field: zero has no inverse");
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0);
}

/** Big-endian bytes to an integer (no reduction). */
export function bytesToBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** An integer 0 <= v < 2^(8·length) to big-endian bytes. */
export function bigToBytes(v: bigint, length: number): Uint8Array {
  if (v < 0n || v >> BigInt(8 * length) !== 0n) throw new RangeError(`field: ${v} does not fit in ${length} bytes`);
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * A uniform field element from `random` bytes: 40 bytes reduced mod p, whose distance from uniform
 * is below 2^-63 (p is within 2^9 of 2^256, so the 320-bit draw wraps around p about 2^64 times).
 */
export function randomElement(random: (bytes: Uint8Array) => void): bigint {
  const bytes = new Uint8Array(40);
  random(bytes);
  return mod(bytesToBig(bytes));
}
