// The WebCrypto primitives secure aggregation is built from, on globalThis.crypto.subtle so that the
// same code runs in a browser and in Node ≥ 20: X25519 key agreement, HKDF-SHA-256, AES-256-GCM
// (shares sent to peers through the server) and AES-256-CTR as the pseudo-random generator that
// expands a 32-byte seed into a mask. Private keys are generated from caller-supplied random bytes
// (imported as PKCS#8) rather than by generateKey, so that tests can run the protocol from a seed.
import { SecAggError } from "./errors.js";

/** Fills its argument with random bytes. Production code uses cryptoRandom; tests a seeded one. */
export type RandomSource = (bytes: Uint8Array) => void;

export const cryptoRandom: RandomSource = (bytes) => {
  // getRandomValues takes at most 65,536 bytes per call
  for (let i = 0; i < bytes.length; i += 65536) globalThis.crypto.getRandomValues(bytes.subarray(i, i + 65536));
};

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/**
 * The typing WebCrypto wants (a view on an ArrayBuffer, not a SharedArrayBuffer). Nothing here makes
 * shared memory, and WebCrypto itself rejects a shared view with a TypeError.
 */
const bs = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => bytes as Uint8Array<ArrayBuffer>;

/** Bytes of an X25519 public or private key. */
export const KEY_BYTES = 32;
/** Bytes of an AES-GCM nonce. */
export const IV_BYTES = 12;
/** Bytes an AES-GCM tag adds to a ciphertext. */
export const TAG_BYTES = 16;

export interface KeyPair {
  /** The raw private scalar (what gets Shamir-shared for the masking key). */
  secret: Uint8Array;
  publicKey: Uint8Array;
  key: CryptoKey;
}

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410): SEQUENCE { version 0, AlgorithmIdentifier
// 1.3.101.110, OCTET STRING { OCTET STRING (32 bytes) } }.
const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

export async function importPrivateKey(secret: Uint8Array): Promise<CryptoKey> {
  if (secret.length !== KEY_BYTES) throw new SecAggError("bad-message", `X25519 private key must be ${KEY_BYTES} bytes, got ${secret.length}`);
  return subtle().importKey("pkcs8", new Uint8Array([...PKCS8_PREFIX, ...secret]), { name: "X25519" }, true, ["deriveBits"]);
}

/** The public key of a private key (WebCrypto computes it on import and exports it as JWK x). */
export async function publicKeyOf(key: CryptoKey): Promise<Uint8Array> {
  const jwk = await subtle().exportKey("jwk", key);
  return fromBase64Url(jwk.x ?? "");
}

export async function keyPairFrom(random: RandomSource): Promise<KeyPair> {
  const secret = new Uint8Array(KEY_BYTES);
  random(secret);
  const key = await importPrivateKey(secret);
  return { secret, key, publicKey: await publicKeyOf(key) };
}

// The u-coordinates of X25519's points of small order (0, 1, the two of order 8, p − 1) and the
// non-canonical encodings p, p + 1, with p = 2^255 − 19. Agreement with any of them yields a
// shared secret that does not depend on the private key (WebCrypto then refuses to derive), so
// such a key must be refused when it is advertised rather than break every peer's next phase.
const CURVE_P = (1n << 255n) - 19n;
const SMALL_ORDER = new Set([
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  CURVE_P - 1n,
  CURVE_P,
  CURVE_P + 1n,
]);

/** Whether a 32-byte X25519 public key is a point of small order (bit 255 is ignored, as X25519 does). */
export function smallOrder(publicKey: Uint8Array): boolean {
  let u = 0n;
  for (let i = publicKey.length - 1; i >= 0; i--) u = (u << 8n) | BigInt(i === 31 ? publicKey[i]! & 0x7f : publicKey[i]!);
  return SMALL_ORDER.has(u);
}

/** X25519(private, peer public): 32 shared bytes. A malformed or low-order peer key is a bad message. */
export async function agree(key: CryptoKey, peerPublic: Uint8Array, what: string): Promise<Uint8Array> {
  if (peerPublic.length !== KEY_BYTES) throw new SecAggError("bad-message", `${what}: public key must be ${KEY_BYTES} bytes, got ${peerPublic.length}`);
  try {
    const pub = await subtle().importKey("raw", bs(peerPublic), { name: "X25519" }, false, []);
    return new Uint8Array(await subtle().deriveBits({ name: "X25519", public: pub }, key, 256));
  } catch (e) {
    throw new SecAggError("bad-message", `${what}: key agreement failed (${(e as Error).message})`);
  }
}

/** HKDF-SHA-256 of `ikm` to 32 bytes, bound to a purpose label and context bytes (round, ids). */
export async function hkdf(ikm: Uint8Array, purpose: string, context: Uint8Array): Promise<Uint8Array> {
  const base = await subtle().importKey("raw", bs(ikm), "HKDF", false, ["deriveBits"]);
  const label = new TextEncoder().encode(`fedfacet-secagg/v1/${purpose}`);
  const info = new Uint8Array(label.length + context.length);
  info.set(label);
  info.set(context, label.length);
  return new Uint8Array(await subtle().deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info }, base, 256));
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest("SHA-256", bs(bytes)));
}

export async function sealGcm(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const k = await subtle().importKey("raw", bs(key), "AES-GCM", false, ["encrypt"]);
  return new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv: bs(iv), additionalData: bs(aad) }, k, bs(plaintext)));
}

/** AES-GCM decryption; null when the tag does not verify (wrong key, sender, recipient or bytes). */
export async function openGcm(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array | null> {
  const k = await subtle().importKey("raw", bs(key), "AES-GCM", false, ["decrypt"]);
  try {
    return new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: bs(iv), additionalData: bs(aad) }, k, bs(ciphertext)));
  } catch {
    return null;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The PRG: AES-256-CTR keystream under `seed` from counter 0, read as little-endian u32 words. Each
 * seed is used for one mask only (seeds are fresh per round and per pair), so the zero counter is safe.
 */
export async function expandSeed(seed: Uint8Array, length: number): Promise<Uint32Array> {
  const k = await subtle().importKey("raw", bs(seed), "AES-CTR", false, ["encrypt"]);
  const stream = await subtle().encrypt({ name: "AES-CTR", counter: new Uint8Array(16), length: 64 }, k, new Uint8Array(4 * length));
  const words = new Uint32Array(stream);
  if (!LITTLE_ENDIAN) {
    const view = new DataView(stream);
    for (let i = 0; i < length; i++) words[i] = view.getUint32(4 * i, true);
  }
  return words;
}

/** Little-endian u32 fields, for HKDF contexts and AES-GCM associated data. */
export function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v, true));
  return out;
}

export function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const s = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
