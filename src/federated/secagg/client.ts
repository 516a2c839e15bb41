// The client side of a secure-aggregation round: a state machine with one async method per phase,
// each to be called once and in order. Any inconsistency in what the server sends aborts the client
// (every later call throws), because continuing could reveal both secrets of one peer — the only
// way an honest client's shares leak an input.
import { cryptoRandom, equalBytes, expandSeed, IV_BYTES, keyPairFrom, KEY_BYTES, openGcm, sealGcm, smallOrder, type KeyPair, type RandomSource } from "./crypto.js";
import { SecAggError } from "./errors.js";
import { bigToBytes, bytesToBig, ELEMENT_BYTES, SECRET_BYTES } from "./field.js";
import { eachLimited } from "./limited.js";
import { addInto, applyPairMask, pairMask, selfMaskCommitment, shareAad, shareKey } from "./masks.js";
import {
  checkBytes,
  checkClientId,
  checkIdList,
  checkObject,
  checkRound,
  describe,
  PLAIN_BYTES,
  SEALED_BYTES,
  sameIds,
  type AdvertiseKeys,
  type KeyDirectory,
  type MaskedInput,
  type PublicKeys,
  type RevealedShare,
  type SealedShare,
  type ShareDelivery,
  type ShareKeys,
  type UnmaskRequest,
  type UnmaskResponse,
} from "./messages.js";
import { checkParams, type SecAggParams } from "./params.js";
import { sharePoint, splitSecret } from "./shamir.js";

type Phase = "advertise" | "share" | "mask" | "unmask" | "done" | "aborted" | "busy";

export interface SecAggClientOptions extends SecAggParams {
  client: number;
  /** Randomness for keys, seeds, polynomials and nonces; a seeded source only in tests. */
  random?: RandomSource;
}

export class SecAggClient {
  readonly params: SecAggParams;
  readonly client: number;
  private readonly random: RandomSource;
  private phase: Phase = "advertise";
  private c?: KeyPair;
  private s?: KeyPair;
  private seed?: Uint8Array;
  private directory = new Map<number, PublicKeys>();
  /** This client's own shares of its two secrets (it is one of the holders). */
  private own?: { key: bigint; seed: bigint };
  private participants: number[] = [];
  private inbox = new Map<number, SealedShare>();
  /** The AES-GCM key shared with each peer, agreed once in phase 1 and used again to open its shares. */
  private shareKeysByPeer = new Map<number, Uint8Array>();

  constructor(options: SecAggClientOptions) {
    const { client, random, ...params } = options;
    this.params = checkParams(params);
    this.client = checkClientId(client, "SecAggClient");
    this.random = random ?? cryptoRandom;
  }

  /** Phase 0: fresh key pairs for this round. */
  advertise(): Promise<AdvertiseKeys> {
    return this.step("advertise", "share", async () => {
      this.c = await keyPairFrom(this.random);
      this.s = await keyPairFrom(this.random);
      return { round: this.params.round, client: this.client, cPK: this.c.publicKey, sPK: this.s.publicKey };
    });
  }

  /** Phase 1: share b_u and s_u^SK among the directory (U1), each share sealed to its holder. */
  shareKeys(directory: KeyDirectory): Promise<ShareKeys> {
    return this.step("share", "mask", async () => {
      const { round, threshold } = this.params;
      checkObject(directory, "key directory");
      checkRound(directory.round, round, "key directory");
      if (!Array.isArray(directory.clients)) throw new SecAggError("bad-message", "key directory: clients must be an array");
      directory.clients.forEach((k, i) => checkObject(k, `key directory: clients[${i}]`));
      checkIdList(directory.clients.map((k) => k.client), "key directory");
      const seen = new Set<string>();
      for (const k of directory.clients) {
        for (const [field, key] of [["cPK", k.cPK], ["sPK", k.sPK]] as const) {
          const hex = Array.from(checkBytes(key, KEY_BYTES, `key directory: ${field} of client ${k.client}`), (b) => b.toString(16)).join(".");
          if (smallOrder(key)) throw new SecAggError("bad-message", `key directory: client ${k.client}'s ${field} is a point of small order`);
          if (seen.has(hex)) throw new SecAggError("bad-message", `key directory: client ${k.client}'s ${field} repeats another key`);
          seen.add(hex);
        }
        this.directory.set(k.client, k);
      }
      const me = this.directory.get(this.client);
      if (!me || !equalBytes(me.cPK, this.c!.publicKey) || !equalBytes(me.sPK, this.s!.publicKey)) {
        throw new SecAggError("bad-message", `key directory: client ${this.client}'s own keys are missing or altered`);
      }
      atLeast(directory.clients.length, threshold, "key directory");
      this.seed = new Uint8Array(SECRET_BYTES);
      this.random(this.seed);
      const ids = directory.clients.map((k) => k.client);
      const points = ids.map(sharePoint);
      const keyShares = splitSecret(bytesToBig(this.s!.secret), threshold, points, this.random);
      const seedShares = splitSecret(bytesToBig(this.seed), threshold, points, this.random);
      const sealed = ids.map(async (to, i): Promise<SealedShare | null> => {
        if (to === this.client) {
          this.own = { key: keyShares[i]!, seed: seedShares[i]! };
          return null;
        }
        const plain = new Uint8Array(PLAIN_BYTES);
        plain.set(bigToBytes(keyShares[i]!, ELEMENT_BYTES));
        plain.set(bigToBytes(seedShares[i]!, ELEMENT_BYTES), ELEMENT_BYTES);
        const iv = new Uint8Array(IV_BYTES);
        this.random(iv);
        const key = await shareKey(this.c!.key, this.directory.get(to)!.cPK, round, this.client, to);
        this.shareKeysByPeer.set(to, key);
        return { from: this.client, to, iv, ciphertext: await sealGcm(key, iv, plain, shareAad(round, this.client, to)) };
      });
      const shares = (await Promise.all(sealed)).filter((s): s is SealedShare => s !== null);
      return { round, client: this.client, selfMaskCommitment: await selfMaskCommitment(round, this.client, this.seed), shares };
    });
  }

  /** Phase 2: the input masked with PRG(b_u) and one pairwise mask per other participant (U2). */
  maskInput(delivery: ShareDelivery, input: Uint32Array): Promise<MaskedInput> {
    return this.step("mask", "unmask", async () => {
      const { round, threshold, length } = this.params;
      checkObject(delivery, "share delivery");
      checkRound(delivery.round, round, "share delivery");
      if (delivery.client !== this.client) throw new SecAggError("bad-message", `share delivery: addressed to client ${delivery.client}, this is client ${this.client}`);
      const participants = checkIdList(delivery.participants, "share delivery: participants", new Set(this.directory.keys()));
      if (!participants.includes(this.client)) throw new SecAggError("bad-message", `share delivery: participants leave out client ${this.client} itself`);
      atLeast(participants.length, threshold, "share delivery");
      if (!Array.isArray(delivery.shares)) throw new SecAggError("bad-message", "share delivery: shares must be an array");
      for (const [i, s] of delivery.shares.entries()) {
        const what = `share delivery: shares[${i}]`;
        checkObject(s, what);
        if (s.to !== this.client) throw new SecAggError("bad-message", `${what}: addressed to client ${s.to}`);
        if (!participants.includes(s.from) || s.from === this.client) throw new SecAggError("bad-message", `${what}: sender ${s.from} is no other participant`);
        if (this.inbox.has(s.from)) throw new SecAggError("bad-message", `${what}: a second share from client ${s.from}`);
        checkBytes(s.iv, IV_BYTES, `${what}.iv`);
        checkBytes(s.ciphertext, SEALED_BYTES, `${what}.ciphertext`);
        this.inbox.set(s.from, s);
      }
      if (this.inbox.size !== participants.length - 1) {
        throw new SecAggError("bad-message", `share delivery: ${this.inbox.size} shares for ${participants.length - 1} other participants`);
      }
      if (!(input instanceof Uint32Array) || input.length !== length) {
        throw new SecAggError("bad-message", `masked input: expected a Uint32Array of ${length} elements, got ${describe(input)}`);
      }
      this.participants = participants;
      const masked = Uint32Array.from(input);
      const peers = participants.filter((v) => v !== this.client);
      addInto(masked, await expandSeed(this.seed!, length));
      await eachLimited(peers, async (v) => applyPairMask(masked, await pairMask(this.s!.key, this.directory.get(v)!.sPK, round, this.client, v, length), this.client, v));
      return { round, client: this.client, masked };
    });
  }

  /** Phase 3: reveal b shares of the survivors and s^SK shares of the dropped, never both for one peer. */
  unmask(request: UnmaskRequest): Promise<UnmaskResponse> {
    return this.step("unmask", "done", async () => {
      const { round, threshold } = this.params;
      checkObject(request, "unmask request");
      checkRound(request.round, round, "unmask request");
      const inU2 = new Set(this.participants);
      const survivors = checkIdList(request.survivors, "unmask request: survivors", inU2);
      const dropped = checkIdList(request.dropped, "unmask request: dropped", inU2);
      if (!survivors.includes(this.client)) throw new SecAggError("bad-message", `unmask request: survivors leave out client ${this.client} itself`);
      const expected = this.participants.filter((v) => !survivors.includes(v));
      if (!sameIds(dropped, expected)) {
        throw new SecAggError("bad-message", `unmask request: dropped must be exactly the participants that are no survivors (${expected.join(", ") || "none"}), got ${dropped.join(", ") || "none"}`);
      }
      atLeast(survivors.length, threshold, "unmask request");
      const reveal = async (v: number, part: "seed" | "key"): Promise<RevealedShare> => {
        let share: bigint;
        if (v === this.client) share = this.own!.seed; // never "key": the client itself is no dropped one
        else {
          const plain = await this.open(v);
          share = bytesToBig(part === "seed" ? plain.subarray(ELEMENT_BYTES) : plain.subarray(0, ELEMENT_BYTES));
        }
        return { owner: v, share: bigToBytes(share, ELEMENT_BYTES) };
      };
      const selfMaskShares = await Promise.all(survivors.map((v) => reveal(v, "seed")));
      const keyShares = await Promise.all(dropped.map((v) => reveal(v, "key")));
      this.forget();
      return { round, client: this.client, selfMaskShares, keyShares };
    });
  }

  private async open(from: number): Promise<Uint8Array> {
    const { round } = this.params;
    const sealed = this.inbox.get(from)!;
    const plain = await openGcm(this.shareKeysByPeer.get(from)!, sealed.iv, sealed.ciphertext, shareAad(round, from, this.client));
    if (!plain) throw new SecAggError("bad-share", `client ${this.client}: the share sealed by client ${from} fails authentication`);
    return plain;
  }

  /** Drop the secrets once they can no longer be needed. */
  private forget(): void {
    this.seed?.fill(0);
    this.s?.secret.fill(0);
    this.c?.secret.fill(0);
    this.own = undefined;
    this.inbox.clear();
    for (const key of this.shareKeysByPeer.values()) key.fill(0);
    this.shareKeysByPeer.clear();
  }

  /** Runs one phase: only from `from`, moving to `to` on success and to "aborted" on any error. */
  private async step<T>(from: Phase, to: Phase, body: () => Promise<T>): Promise<T> {
    if (this.phase !== from) {
      throw new SecAggError(this.phase === "aborted" ? "aborted" : "wrong-phase", `client ${this.client}: cannot run phase '${from}' now (phase '${this.phase}')`);
    }
    this.phase = "busy";
    try {
      const out = await body();
      this.phase = to;
      return out;
    } catch (e) {
      this.phase = "aborted";
      this.forget();
      throw e;
    }
  }
}

function atLeast(count: number, threshold: number, what: string): void {
  if (count < threshold) throw new SecAggError("below-threshold", `${what}: ${count} clients, fewer than the threshold ${threshold}`);
}
