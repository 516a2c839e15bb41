// Masks and their arithmetic in Z_{2^32}: the self mask PRG(b_u), the pairwise masks PRG(s_uv) with
// their signs, the commitment to b_u, and the key that encrypts shares between two clients. Client
// and server derive these the same way, so they live in one place.
import { agree, expandSeed, hkdf, sha256, u32s } from "./crypto.js";

/** acc += v (mod 2^32): a Uint32Array stores ToUint32 of the exact double sum. */
export function addInto(acc: Uint32Array, v: Uint32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + v[i]!;
}

/** acc −= v (mod 2^32). */
export function subInto(acc: Uint32Array, v: Uint32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! - v[i]!;
}

/** The pairwise mask enters y_u with + when u < v and with − when u > v, so the pair cancels. */
export function applyPairMask(acc: Uint32Array, mask: Uint32Array, u: number, v: number): void {
  if (u < v) addInto(acc, mask);
  else subInto(acc, mask);
}

/** PRG(s_uv): the mask shared by u and v, from u's masking key and v's public masking key. */
export async function pairMask(key: CryptoKey, peerPublic: Uint8Array, round: number, u: number, v: number, length: number): Promise<Uint32Array> {
  const shared = await agree(key, peerPublic, `masking key of client ${v} (pair ${u}, ${v})`);
  return expandSeed(await hkdf(shared, "mask", u32s(round, Math.min(u, v), Math.max(u, v))), length);
}

/** The AES-GCM key for shares between u and v (the same from both ends). */
export async function shareKey(key: CryptoKey, peerPublic: Uint8Array, round: number, u: number, v: number): Promise<Uint8Array> {
  const shared = await agree(key, peerPublic, `encryption key of client ${v} (pair ${u}, ${v})`);
  return hkdf(shared, "share", u32s(round, Math.min(u, v), Math.max(u, v)));
}

/** Associated data of a sealed share: a share moved to another round or pair fails authentication. */
export function shareAad(round: number, from: number, to: number): Uint8Array {
  return u32s(round, from, to);
}

/** SHA-256(round, client, b_u): hides the 256-bit seed, binds the reconstruction to it. */
export function selfMaskCommitment(round: number, client: number, seed: Uint8Array): Promise<Uint8Array> {
  const bytes = new Uint8Array(8 + seed.length);
  bytes.set(u32s(round, client));
  bytes.set(seed, 8);
  return sha256(bytes);
}
