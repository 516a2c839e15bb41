// JSON text for the protocol's messages, for a coordinator that carries them in HTTP bodies: bytes
// and u32 vectors become base64url strings (vectors little-endian), everything else stays as is.
// Each parse function checks the shape (field types, base64, vector byte lengths) and throws a
// SecAggError "bad-message" naming the field; the server's receive methods then check the content
// (ids, lengths, phase), so garbage never reaches the protocol state.
import { fromBase64Url, toBase64Url } from "./crypto.js";
import { SecAggError } from "./errors.js";
import type {
  AdvertiseKeys,
  KeyDirectory,
  MaskedInput,
  PublicKeys,
  RevealedShare,
  SealedShare,
  ShareDelivery,
  ShareKeys,
  UnmaskRequest,
  UnmaskResponse,
} from "./messages.js";

type Message = AdvertiseKeys | KeyDirectory | ShareKeys | ShareDelivery | MaskedInput | UnmaskRequest | UnmaskResponse;

/** A message as JSON text; Uint8Array and Uint32Array fields become base64url strings. */
export function messageToJson(msg: Message): string {
  return JSON.stringify(msg, (_key, value: unknown) => {
    if (value instanceof Uint32Array) return toBase64Url(u32ToBytes(value));
    if (value instanceof Uint8Array) return toBase64Url(value);
    return value;
  });
}

export function parseAdvertiseKeys(text: string): AdvertiseKeys {
  const o = record(parse(text), "AdvertiseKeys");
  return { round: int(o, "round", "AdvertiseKeys"), ...publicKeys(o, "AdvertiseKeys") };
}

export function parseKeyDirectory(text: string): KeyDirectory {
  const o = record(parse(text), "KeyDirectory");
  return { round: int(o, "round", "KeyDirectory"), clients: list(o, "clients", "KeyDirectory", (v, w) => publicKeys(record(v, w), w)) };
}

export function parseShareKeys(text: string): ShareKeys {
  const o = record(parse(text), "ShareKeys");
  return {
    round: int(o, "round", "ShareKeys"),
    client: int(o, "client", "ShareKeys"),
    selfMaskCommitment: bytes(o, "selfMaskCommitment", "ShareKeys"),
    shares: list(o, "shares", "ShareKeys", sealedShare),
  };
}

export function parseShareDelivery(text: string): ShareDelivery {
  const o = record(parse(text), "ShareDelivery");
  return {
    round: int(o, "round", "ShareDelivery"),
    client: int(o, "client", "ShareDelivery"),
    participants: list(o, "participants", "ShareDelivery", integer),
    shares: list(o, "shares", "ShareDelivery", sealedShare),
  };
}

export function parseMaskedInput(text: string): MaskedInput {
  const o = record(parse(text), "MaskedInput");
  const raw = bytes(o, "masked", "MaskedInput");
  if (raw.length % 4 !== 0) throw bad(`MaskedInput.masked: ${raw.length} bytes is not a whole number of u32 values`);
  return { round: int(o, "round", "MaskedInput"), client: int(o, "client", "MaskedInput"), masked: bytesToU32(raw) };
}

export function parseUnmaskRequest(text: string): UnmaskRequest {
  const o = record(parse(text), "UnmaskRequest");
  return {
    round: int(o, "round", "UnmaskRequest"),
    survivors: list(o, "survivors", "UnmaskRequest", integer),
    dropped: list(o, "dropped", "UnmaskRequest", integer),
  };
}

export function parseUnmaskResponse(text: string): UnmaskResponse {
  const o = record(parse(text), "UnmaskResponse");
  const reveal = (v: unknown, what: string): RevealedShare => {
    const r = record(v, what);
    return { owner: int(r, "owner", what), share: bytes(r, "share", what) };
  };
  return {
    round: int(o, "round", "UnmaskResponse"),
    client: int(o, "client", "UnmaskResponse"),
    selfMaskShares: list(o, "selfMaskShares", "UnmaskResponse", reveal),
    keyShares: list(o, "keyShares", "UnmaskResponse", reveal),
  };
}

// ---- shape checks ----------------------------------------------------------------------------------

const bad = (message: string) => new SecAggError("bad-message", message);

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad(`message is not JSON (${(e as Error).message})`);
  }
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

function integer(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw bad(`${what}: expected an integer, got ${JSON.stringify(v)}`);
  return v;
}

function int(o: Record<string, unknown>, key: string, what: string): number {
  return integer(o[key], `${what}.${key}`);
}

function bytes(o: Record<string, unknown>, key: string, what: string): Uint8Array {
  const v = o[key];
  if (typeof v !== "string" || !/^[A-Za-z0-9_-]*$/.test(v) || v.length % 4 === 1) throw bad(`${what}.${key}: expected a base64url string`);
  return fromBase64Url(v);
}

function list<T>(o: Record<string, unknown>, key: string, what: string, item: (v: unknown, what: string) => T): T[] {
  const v = o[key];
  if (!Array.isArray(v)) throw bad(`${what}.${key}: expected an array`);
  return v.map((x, i) => item(x, `${what}.${key}[${i}]`));
}

function publicKeys(o: Record<string, unknown>, what: string): PublicKeys {
  return { client: int(o, "client", what), cPK: bytes(o, "cPK", what), sPK: bytes(o, "sPK", what) };
}

function sealedShare(v: unknown, what: string): SealedShare {
  const o = record(v, what);
  return { from: int(o, "from", what), to: int(o, "to", what), iv: bytes(o, "iv", what), ciphertext: bytes(o, "ciphertext", what) };
}

function u32ToBytes(v: Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * v.length);
  const view = new DataView(out.buffer);
  v.forEach((x, i) => view.setUint32(4 * i, x, true));
  return out;
}

function bytesToU32(b: Uint8Array): Uint32Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Uint32Array.from({ length: b.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}
