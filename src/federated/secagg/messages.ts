// The messages of one secure-aggregation round (Bonawitz et al. 2017, semi-honest variant), as plain
// objects: byte fields are Uint8Array, vectors Uint32Array (the wire format's "u32" encoding), ids
// are client ids of the coordinator. Sequence per round, n clients, threshold t:
//   0 AdvertiseKeys   client → server: two X25519 public keys (c: share encryption, s: masking)
//     KeyDirectory    server → clients: everyone's keys (U1, at least t clients)
//   1 ShareKeys       client → server: t-of-|U1| shares of its self-mask seed b_u and of s_u^SK,
//                     each encrypted to its recipient, plus a commitment to b_u
//     ShareDelivery   server → each client in U2: the sealed shares addressed to it
//   2 MaskedInput     client → server: y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)
//     UnmaskRequest   server → U3: who survived (send b shares) and who dropped (send s^SK shares)
//   3 UnmaskResponse  client → server: those shares, in clear
import { TAG_BYTES } from "./crypto.js";
import { SecAggError } from "./errors.js";
import { ELEMENT_BYTES } from "./field.js";

export interface PublicKeys {
  client: number;
  /** Key-agreement public key for encrypting shares (c_u^PK). */
  cPK: Uint8Array;
  /** Key-agreement public key for pairwise masks (s_u^PK). */
  sPK: Uint8Array;
}

export interface AdvertiseKeys extends PublicKeys {
  round: number;
}

export interface KeyDirectory {
  round: number;
  /** U1, ascending by client id. */
  clients: PublicKeys[];
}

/** Plaintext of a sealed share: the share of s_u^SK, then the share of b_u (field elements). */
export const PLAIN_BYTES = 2 * ELEMENT_BYTES;
/** Ciphertext of a sealed share: the plaintext and the AES-GCM tag. */
export const SEALED_BYTES = PLAIN_BYTES + TAG_BYTES;

/** One client's shares for one peer, AES-256-GCM under a key agreed from their c keys. */
export interface SealedShare {
  from: number;
  to: number;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

export interface ShareKeys {
  round: number;
  client: number;
  /** SHA-256 of (round, client, b_u): lets the server check the seed it reconstructs. */
  selfMaskCommitment: Uint8Array;
  /** One per other client of the directory. */
  shares: SealedShare[];
}

export interface ShareDelivery {
  round: number;
  /** The recipient. */
  client: number;
  /** U2 (the clients whose shares went out), ascending; the recipient masks against each of them. */
  participants: number[];
  /** One from each other participant, addressed to the recipient. */
  shares: SealedShare[];
}

export interface MaskedInput {
  round: number;
  client: number;
  masked: Uint32Array;
}

export interface UnmaskRequest {
  round: number;
  /** U3: sent a masked input; their self-mask seeds are reconstructed. Ascending. */
  survivors: number[];
  /** U2 \ U3: shared keys but sent no masked input; their masking keys are reconstructed. Ascending. */
  dropped: number[];
}

export interface RevealedShare {
  /** Whose secret this is a share of. */
  owner: number;
  /** The share's value, a field element (33 bytes big-endian). */
  share: Uint8Array;
}

export interface UnmaskResponse {
  round: number;
  client: number;
  /** One per survivor (itself included), ascending by owner. */
  selfMaskShares: RevealedShare[];
  /** One per dropped client, ascending by owner. */
  keyShares: RevealedShare[];
}

export interface SecAggResult {
  round: number;
  /** Σ_{u ∈ survivors} x_u mod 2^32. */
  sum: Uint32Array;
  survivors: number[];
  dropped: number[];
  /** Clients that revealed a share inconsistent with the others (left out of every reconstruction). */
  flagged: number[];
}

/** Largest client id: ids become u32 fields and evaluation points id + 1. */
export const MAX_CLIENT_ID = 0xfffffffe;

export function checkClientId(id: unknown, what: string): number {
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_CLIENT_ID) {
    throw new SecAggError("bad-message", `${what}: client id must be an integer in [0, ${MAX_CLIENT_ID}], got ${String(id)}`);
  }
  return id;
}

export function checkObject(v: unknown, what: string): void {
  if (typeof v !== "object" || v === null) throw new SecAggError("bad-message", `${what}: expected an object, got ${v === null ? "null" : typeof v}`);
}

export function checkRound(got: unknown, round: number, what: string): void {
  if (got !== round) throw new SecAggError("wrong-round", `${what}: message for round ${String(got)}, this is round ${round}`);
}

export function checkBytes(bytes: unknown, length: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new SecAggError("bad-message", `${what}: expected a Uint8Array`);
  if (bytes.length !== length) throw new SecAggError("bad-message", `${what}: expected ${length} bytes, got ${bytes.length}`);
  return bytes;
}

/** An ascending list of distinct client ids that is a subset of `within` (when given). */
export function checkIdList(ids: unknown, what: string, within?: ReadonlySet<number>): number[] {
  if (!Array.isArray(ids)) throw new SecAggError("bad-message", `${what}: expected an array of client ids`);
  ids.forEach((id, i) => {
    checkClientId(id, `${what}[${i}]`);
    if (i > 0 && id <= ids[i - 1]) throw new SecAggError("bad-message", `${what}: ids must be ascending and distinct (${ids[i - 1]} then ${id})`);
    if (within && !within.has(id)) throw new SecAggError("unknown-client", `${what}: client ${id} is not part of this round`);
  });
  return ids as number[];
}

/** Equality of two ascending id lists. */
export function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** What a value is, for error messages about vectors. */
export function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name} of ${(v as Uint8Array).length} elements`;
  return v === null ? "null" : typeof v;
}
