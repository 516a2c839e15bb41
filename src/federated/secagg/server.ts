// The server side of a secure-aggregation round: a state machine the coordinator drives with one
// receive method per client message (synchronous, so an HTTP handler can answer at once; a rejected
// message throws a SecAggError and leaves the state untouched) and one close method per phase (called
// when the phase's deadline passes or everyone answered). Below the threshold the round aborts:
// close/finish throw "below-threshold", every later call throws "aborted", and no sum is ever
// returned. The server learns Σ_{u∈U3} x_u mod 2^32 and nothing else about the inputs.
import { equalBytes, expandSeed, importPrivateKey, IV_BYTES, KEY_BYTES, publicKeyOf, smallOrder } from "./crypto.js";
import { SecAggError } from "./errors.js";
import { bigToBytes, bytesToBig, ELEMENT_BYTES, P, SECRET_BYTES } from "./field.js";
import { eachLimited } from "./limited.js";
import { addInto, applyPairMask, pairMask, selfMaskCommitment, subInto } from "./masks.js";
import {
  checkBytes,
  checkClientId,
  checkObject,
  checkRound,
  describe,
  SEALED_BYTES,
  type AdvertiseKeys,
  type KeyDirectory,
  type MaskedInput,
  type PublicKeys,
  type RevealedShare,
  type SecAggResult,
  type ShareDelivery,
  type ShareKeys,
  type UnmaskRequest,
  type UnmaskResponse,
} from "./messages.js";
import { checkParams, type SecAggParams } from "./params.js";
import { decodeShares, sharePoint, type Interpolator, type Share } from "./shamir.js";

export type ServerPhase = "advertise" | "share" | "masked" | "unmask" | "finishing" | "done" | "aborted";

export interface SecAggServerOptions extends SecAggParams {
  /** The cohort selected for this round; messages from anyone else are rejected. */
  clients: readonly number[];
}

export class SecAggServer {
  readonly params: SecAggParams;
  private readonly cohort: Set<number>;
  private phaseNow: ServerPhase = "advertise";
  private readonly keys = new Map<number, PublicKeys>(); // U1
  private readonly shares = new Map<number, ShareKeys>(); // U2
  private readonly masked = new Set<number>(); // U3
  /** Σ y_u over U3, added as inputs arrive: the server holds one vector, not one per client. */
  private readonly maskedSum: Uint32Array;
  private readonly responses = new Map<number, UnmaskResponse>(); // U5
  private survivors: number[] = [];
  private dropped: number[] = [];

  constructor(options: SecAggServerOptions) {
    const { clients, ...params } = options;
    this.params = checkParams(params);
    this.maskedSum = new Uint32Array(params.length);
    this.cohort = new Set(clients.map((id, i) => checkClientId(id, `SecAggServer: clients[${i}]`)));
    if (this.cohort.size !== clients.length) throw new SecAggError("bad-config", "SecAggServer: the cohort lists a client twice");
    if (this.cohort.size < params.threshold) {
      throw new SecAggError("bad-config", `SecAggServer: a cohort of ${this.cohort.size} clients cannot reach the threshold ${params.threshold}`);
    }
  }

  get phase(): ServerPhase {
    return this.phaseNow;
  }

  /** How many clients have sent each message so far (for status pages and phase deadlines). */
  get progress(): { advertised: number; shared: number; masked: number; unmasked: number } {
    return { advertised: this.keys.size, shared: this.shares.size, masked: this.masked.size, unmasked: this.responses.size };
  }

  // ---- phase 0: AdvertiseKeys ------------------------------------------------------------------

  receiveAdvertise(msg: AdvertiseKeys): void {
    const id = this.accept("advertise", msg, this.cohort, this.keys, "AdvertiseKeys");
    const cPK = checkBytes(msg.cPK, KEY_BYTES, `AdvertiseKeys from client ${id}: cPK`);
    const sPK = checkBytes(msg.sPK, KEY_BYTES, `AdvertiseKeys from client ${id}: sPK`);
    if (equalBytes(cPK, sPK)) throw new SecAggError("bad-message", `AdvertiseKeys from client ${id}: cPK and sPK must differ`);
    for (const [field, key] of [["cPK", cPK], ["sPK", sPK]] as const) {
      if (smallOrder(key)) throw new SecAggError("bad-message", `AdvertiseKeys from client ${id}: ${field} is a point of small order (no key agreement possible)`);
    }
    for (const k of this.keys.values()) {
      if ([k.cPK, k.sPK].some((old) => equalBytes(old, cPK) || equalBytes(old, sPK))) {
        throw new SecAggError("duplicate", `AdvertiseKeys from client ${id}: repeats a key of client ${k.client} (replayed message?)`);
      }
    }
    this.keys.set(id, { client: id, cPK: cPK.slice(), sPK: sPK.slice() });
  }

  /** Ends phase 0: the directory every client of U1 receives. */
  closeAdvertise(): KeyDirectory {
    this.close("advertise", "share", this.keys.size, "advertised keys");
    return { round: this.params.round, clients: ascending(this.keys.keys()).map((id) => this.keys.get(id)!) };
  }

  // ---- phase 1: ShareKeys ----------------------------------------------------------------------

  receiveShares(msg: ShareKeys): void {
    const id = this.accept("share", msg, new Set(this.keys.keys()), this.shares, "ShareKeys");
    const what = `ShareKeys from client ${id}`;
    checkBytes(msg.selfMaskCommitment, 32, `${what}: selfMaskCommitment`);
    if (!Array.isArray(msg.shares)) throw new SecAggError("bad-message", `${what}: shares must be an array`);
    const to = new Set<number>();
    msg.shares.forEach((s, i) => {
      checkObject(s, `${what}: shares[${i}]`);
      if (s.from !== id) throw new SecAggError("bad-message", `${what}: shares[${i}] claims sender ${s.from}`);
      if (!this.keys.has(s.to) || s.to === id) throw new SecAggError("unknown-client", `${what}: shares[${i}] is for client ${s.to}, no other member of the directory`);
      if (to.has(s.to)) throw new SecAggError("bad-message", `${what}: two shares for client ${s.to}`);
      checkBytes(s.iv, IV_BYTES, `${what}: shares[${i}].iv`);
      checkBytes(s.ciphertext, SEALED_BYTES, `${what}: shares[${i}].ciphertext`);
      to.add(s.to);
    });
    if (to.size !== this.keys.size - 1) throw new SecAggError("bad-message", `${what}: ${to.size} shares for ${this.keys.size - 1} other clients`);
    this.shares.set(id, msg);
  }

  /** Ends phase 1: per client of U2, the shares addressed to it. */
  closeShares(): Map<number, ShareDelivery> {
    this.close("share", "masked", this.shares.size, "clients that shared their keys");
    const participants = ascending(this.shares.keys());
    const out = new Map<number, ShareDelivery>(participants.map((to) => [to, { round: this.params.round, client: to, participants, shares: [] }]));
    // senders in ascending order, so each delivery lists its shares by sender; shares addressed to
    // clients that never sent theirs (not in U2) are not delivered
    for (const from of participants) for (const s of this.shares.get(from)!.shares) out.get(s.to)?.shares.push(s);
    return out;
  }

  // ---- phase 2: MaskedInputCollection ------------------------------------------------------------

  receiveMasked(msg: MaskedInput): void {
    const id = this.accept("masked", msg, new Set(this.shares.keys()), this.masked, "MaskedInput");
    const { length } = this.params;
    if (!(msg.masked instanceof Uint32Array) || msg.masked.length !== length) {
      throw new SecAggError("bad-message", `MaskedInput from client ${id}: expected a Uint32Array of ${length} elements, got ${describe(msg.masked)}`);
    }
    addInto(this.maskedSum, msg.masked);
    this.masked.add(id);
  }

  /** Ends phase 2: who survived (U3) and who dropped after sharing keys (U2 \ U3). */
  closeMasked(): UnmaskRequest {
    this.close("masked", "unmask", this.masked.size, "masked inputs");
    this.survivors = ascending(this.masked.keys());
    this.dropped = ascending(this.shares.keys()).filter((u) => !this.masked.has(u));
    return { round: this.params.round, survivors: this.survivors, dropped: this.dropped };
  }

  // ---- phase 3: Unmasking ----------------------------------------------------------------------

  receiveUnmask(msg: UnmaskResponse): void {
    const id = this.accept("unmask", msg, new Set(this.survivors), this.responses, "UnmaskResponse");
    const what = `UnmaskResponse from client ${id}`;
    checkReveals(msg.selfMaskShares, this.survivors, `${what}: selfMaskShares`);
    checkReveals(msg.keyShares, this.dropped, `${what}: keyShares`);
    this.responses.set(id, msg);
  }

  /**
   * Ends the round: reconstructs every survivor's self-mask seed and every dropped client's masking
   * key from the revealed shares (wrong shares are located, left out, and their senders flagged),
   * removes the masks and returns the sum. Throws (and aborts) when fewer than t clients responded
   * or a secret cannot be reconstructed consistently; then nothing is returned.
   */
  async finish(): Promise<SecAggResult> {
    this.close("unmask", "finishing", this.responses.size, "unmasking responses");
    try {
      const result = await this.unmaskSum();
      this.phaseNow = "done";
      return result;
    } catch (e) {
      this.phaseNow = "aborted";
      throw e;
    }
  }

  private async unmaskSum(): Promise<SecAggResult> {
    const { round, length } = this.params;
    const flagged = new Set<number>();
    const cache = new Map<string, Interpolator>();
    // decode every secret first (in id order, so which shares get flagged is deterministic), check
    // each against its commitment or public key, and only then remove the masks
    const seeds = this.survivors.map((u, i) => this.reconstruct(u, "selfMaskShares", i, flagged, cache));
    const keys = this.dropped.map((d, i) => this.reconstruct(d, "keyShares", i, flagged, cache));
    await eachLimited(this.survivors, async (u, i) => {
      const seed = seeds[i]!;
      if (seed === null || !equalBytes(await selfMaskCommitment(round, u, seed), this.shares.get(u)!.selfMaskCommitment)) {
        throw new SecAggError("unrecoverable", `round ${round}: the revealed shares do not reconstruct client ${u}'s committed self-mask seed`);
      }
    });
    const masking: CryptoKey[] = [];
    await eachLimited(this.dropped, async (d, i) => {
      const secret = keys[i]!;
      const key = secret === null ? null : await importPrivateKey(secret);
      if (key === null || !equalBytes(await publicKeyOf(key), this.keys.get(d)!.sPK)) {
        throw new SecAggError("unrecoverable", `round ${round}: the revealed shares do not reconstruct dropped client ${d}'s masking key`);
      }
      masking[i] = key;
    });
    const sum = this.maskedSum;
    await eachLimited(this.survivors, async (_u, i) => subInto(sum, await expandSeed(seeds[i]!, length)));
    // each survivor v added sign(v, d)·PRG(s_vd) for a dropped d; adding sign(d, v)·PRG takes it out
    const pairs = this.dropped.flatMap((d, i) => this.survivors.map((v) => ({ d, v, key: masking[i]! })));
    await eachLimited(pairs, async ({ d, v, key }) => applyPairMask(sum, await pairMask(key, this.keys.get(v)!.sPK, round, d, v, length), d, v));
    return { round, sum, survivors: this.survivors, dropped: this.dropped, flagged: ascending(flagged) };
  }

  /**
   * Decodes `owner`'s secret from the unflagged responders' shares, flagging wrong ones; null if
   * impossible. `index` is the owner's place in the survivors or dropped list, which is where every
   * accepted response holds its share (receiveUnmask checked the order).
   */
  private reconstruct(owner: number, field: "selfMaskShares" | "keyShares", index: number, flagged: Set<number>, cache: Map<string, Interpolator>): Uint8Array | null {
    const holders = ascending(this.responses.keys()).filter((v) => !flagged.has(v));
    if (holders.length < this.params.threshold) {
      throw new SecAggError("below-threshold", `round ${this.params.round}: ${holders.length} trustworthy responders for client ${owner}'s secret, fewer than the threshold ${this.params.threshold}`);
    }
    const shares: Share[] = holders.map((v) => ({
      x: sharePoint(v),
      y: bytesToBig(this.responses.get(v)![field][index]!.share),
    }));
    const decoded = decodeShares(shares, this.params.threshold, cache);
    if (!decoded || decoded.secret >> 256n !== 0n) return null;
    for (const i of decoded.wrong) flagged.add(holders[i]!);
    return bigToBytes(decoded.secret, SECRET_BYTES);
  }

  /** The common checks of a client message: phase, round, sender allowed, not seen before. */
  private accept(phase: ServerPhase, msg: { round: number; client: number }, allowed: ReadonlySet<number>, seen: { has(id: number): boolean }, what: string): number {
    this.expectPhase(phase, what);
    checkObject(msg, what);
    checkRound(msg.round, this.params.round, what);
    const id = checkClientId(msg.client, what);
    if (!allowed.has(id)) throw new SecAggError("unknown-client", `${what}: client ${id} is not part of phase '${phase}' of round ${this.params.round}`);
    if (seen.has(id)) throw new SecAggError("duplicate", `${what}: client ${id} already sent this round's ${what}`);
    return id;
  }

  private expectPhase(phase: ServerPhase, what: string): void {
    if (this.phaseNow === phase) return;
    const code = this.phaseNow === "aborted" ? "aborted" : "wrong-phase";
    throw new SecAggError(code, `${what}: round ${this.params.round} is in phase '${this.phaseNow}', not '${phase}'`);
  }

  private close(phase: ServerPhase, next: ServerPhase, count: number, what: string): void {
    this.expectPhase(phase, `closing phase '${phase}'`);
    if (count < this.params.threshold) {
      this.phaseNow = "aborted";
      throw new SecAggError("below-threshold", `round ${this.params.round}: ${count} ${what}, fewer than the threshold ${this.params.threshold}; the round is aborted`);
    }
    this.phaseNow = next;
  }
}

/** Revealed shares: exactly one per id of `owners`, in that (ascending) order, each a field element. */
function checkReveals(reveals: unknown, owners: readonly number[], what: string): void {
  if (!Array.isArray(reveals)) throw new SecAggError("bad-message", `${what}: expected an array`);
  if (reveals.length !== owners.length) throw new SecAggError("bad-message", `${what}: ${reveals.length} shares for ${owners.length} clients`);
  (reveals as RevealedShare[]).forEach((r, i) => {
    checkObject(r, `${what}[${i}]`);
    if (r.owner !== owners[i]) throw new SecAggError("bad-message", `${what}[${i}]: share of client ${String(r.owner)}, expected client ${owners[i]}`);
    if (bytesToBig(checkBytes(r.share, ELEMENT_BYTES, `${what}[${i}].share`)) >= P) {
      throw new SecAggError("bad-message", `${what}[${i}].share: not a field element (>= p)`);
    }
  });
}

function ascending(ids: Iterable<number>): number[] {
  return [...ids].sort((a, b) => a - b);
}
