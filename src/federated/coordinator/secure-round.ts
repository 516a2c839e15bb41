// One secure-aggregation attempt of a coordinator round, without transport: SecAggServer's phases
// driven by the clock and by who has answered. A phase closes as soon as everyone it waits for has
// answered, or at its deadline (each phase gets its own, from when it opened) with whoever did;
// fewer than the threshold aborts the attempt (the coordinator then re-runs the round). Client
// messages arrive as JSON text (keys, shares, unmask) or a wire frame (the masked vector), are
// refused with an ApiError when malformed, late, duplicate or from outside the phase (the state
// stays untouched: SecAggServer checks before it changes anything), and the masked vectors go
// straight into SecAggServer's running sum: nothing here holds one client's vector.
import {
  messageToJson,
  parseAdvertiseKeys,
  parseShareKeys,
  parseUnmaskResponse,
  SecAggError,
  SecAggServer,
  type KeyDirectory,
  type SecAggResult,
  type ShareDelivery,
  type UnmaskRequest,
} from "../secagg/index.js";
import { decodeFrame, WireError } from "../wire/index.js";
import { ApiError } from "./errors.js";

export interface SecureRoundOptions {
  /** The secure-aggregation session (SecAggParams.round): fresh per attempt, so no stale message fits. */
  session: number;
  cohort: readonly number[];
  threshold: number;
  /** Elements of the summed vector. */
  length: number;
  /** Each phase's deadline, from when it opens. */
  phaseMs: number;
  now: () => number;
  /**
   * Called just before the masked phase closes into the unmasking (from which the coordinator can
   * learn the sum), only when enough inputs came for that: DP runs charge the round here. If it
   * throws, the phase stays as it was and the next progress() calls it again.
   */
  beforeUnmask?: () => void;
}

/** What the clock or an answer did to the attempt. */
export type SecureProgress = "waiting" | "finish" | "aborted";

/** A GET of a phase's answer: the message (JSON), or "not yet" (the phase is still open). */
export type Pending = { ready: true; body: string } | { ready: false };

export class SecureRound {
  readonly server: SecAggServer;
  private deadline: number;
  private directory: KeyDirectory | null = null;
  private deliveries: Map<number, ShareDelivery> | null = null;
  private request: UnmaskRequest | null = null;
  /** Who advertised keys (ids only), so that they are not handed the task again. */
  private readonly advertised = new Set<number>();
  /** Why the attempt aborted (for the log), once it has. */
  abortReason = "";
  /** Bytes of the masked-input frames accepted. */
  maskedBytes = 0;

  constructor(private readonly o: SecureRoundOptions) {
    this.server = new SecAggServer({ round: o.session, threshold: o.threshold, length: o.length, clients: o.cohort });
    this.deadline = o.now() + o.phaseMs;
  }

  get session(): number {
    return this.o.session;
  }

  get cohortSize(): number {
    return this.o.cohort.length;
  }

  /** Whether `client` may still fetch the task: it is in the cohort and keys are being collected, not yet its. */
  wantsTaskFrom(client: number): boolean {
    return this.server.phase === "advertise" && this.o.cohort.includes(client) && !this.advertised.has(client);
  }

  advertise(client: number, text: string): SecureProgress {
    const msg = refuse(() => parseAdvertiseKeys(text));
    this.sameSender(client, msg.client);
    refuse(() => this.server.receiveAdvertise(msg));
    this.advertised.add(client);
    return this.progress();
  }

  keyDirectory(client: number): Pending {
    this.member(client, "advertise");
    if (!this.directory) return { ready: false };
    if (!this.directory.clients.some((k) => k.client === client)) throw notPart(client, "the key directory");
    return { ready: true, body: messageToJson(this.directory) };
  }

  shareKeys(client: number, text: string): SecureProgress {
    const msg = refuse(() => parseShareKeys(text));
    this.sameSender(client, msg.client);
    refuse(() => this.server.receiveShares(msg));
    return this.progress();
  }

  shareDelivery(client: number): Pending {
    this.member(client, "share");
    if (!this.deliveries) return { ready: false };
    const d = this.deliveries.get(client);
    if (!d) throw notPart(client, "the share exchange");
    return { ready: true, body: messageToJson(d) };
  }

  /** A wire frame of type "masked" with one u32 partition "masked", its round the session. */
  maskedInput(client: number, body: Uint8Array): SecureProgress {
    let frame;
    try {
      frame = decodeFrame(body, { maxBytes: 4 * this.o.length + 4096, maxPartitions: 1, maxElements: this.o.length });
    } catch (e) {
      if (e instanceof WireError) throw new ApiError(e.code === "too-large" ? 413 : 400, e.code, e.message);
      throw e;
    }
    if (frame.type !== "masked") throw new ApiError(400, "bad-type", `expected a masked frame, got a ${frame.type} frame`);
    const p = frame.partitions[0];
    if (frame.partitions.length !== 1 || p?.name !== "masked" || !(p.values instanceof Uint32Array)) {
      throw new ApiError(400, "bad-partition", "a masked frame holds exactly one u32 partition 'masked'");
    }
    refuse(() => this.server.receiveMasked({ round: frame.round, client, masked: p.values as Uint32Array }));
    this.maskedBytes += body.length;
    return this.progress();
  }

  unmaskRequest(client: number): Pending {
    this.member(client, "masked");
    if (!this.request) return { ready: false };
    if (!this.request.survivors.includes(client)) throw notPart(client, "the unmasking (no masked input from it)");
    return { ready: true, body: messageToJson(this.request) };
  }

  unmask(client: number, text: string): SecureProgress {
    const msg = refuse(() => parseUnmaskResponse(text));
    this.sameSender(client, msg.client);
    refuse(() => this.server.receiveUnmask(msg));
    return this.progress();
  }

  /** Closes the current phase when everyone answered or its deadline passed. */
  progress(): SecureProgress {
    const s = this.server;
    const p = s.progress;
    const past = this.o.now() >= this.deadline;
    try {
      switch (s.phase) {
        case "advertise":
          if (past || p.advertised === this.o.cohort.length) this.next(() => (this.directory = s.closeAdvertise()));
          break;
        case "share":
          if (past || p.shared === this.directory!.clients.length) this.next(() => (this.deliveries = s.closeShares()));
          break;
        case "masked":
          if (past || p.masked === this.deliveries!.size) {
            if (p.masked >= s.params.threshold) this.o.beforeUnmask?.();
            this.next(() => (this.request = s.closeMasked()));
          }
          break;
        case "unmask":
          if (past || p.unmasked === this.request!.survivors.length) return "finish";
          break;
        case "aborted":
          return "aborted";
        default:
          break;
      }
    } catch (e) {
      if (e instanceof SecAggError) {
        this.abortReason = `${e.code}: ${e.message}`;
        return "aborted";
      }
      throw e;
    }
    return "waiting";
  }

  /** Unmasks the sum (only after progress() said "finish"); throws a SecAggError when the attempt aborts. */
  finish(): Promise<SecAggResult> {
    return this.server.finish();
  }

  private next(close: () => void): void {
    close();
    this.deadline = this.o.now() + this.o.phaseMs;
  }

  /** Refuses `client` unless it took part in `phase`; an aborted attempt refuses everyone. */
  private member(client: number, phase: "advertise" | "share" | "masked"): void {
    if (this.server.phase === "aborted") throw new ApiError(409, "round-closed", `secure session ${this.o.session} was aborted`);
    if (!this.o.cohort.includes(client)) throw notPart(client, `phase '${phase}'`);
  }

  private sameSender(client: number, claimed: number): void {
    if (claimed !== client) throw new ApiError(400, "bad-message", `the message claims client ${claimed}, the request comes from client ${client}`);
  }
}

function notPart(client: number, what: string): ApiError {
  return new ApiError(403, "not-selected", `client ${client} is not part of ${what} of this secure round`);
}

/** SecAggError → ApiError: the code names the kind, the status what the client can do about it. */
function refuse<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof SecAggError)) throw e;
    const status: Record<string, [number, string]> = {
      "wrong-round": [409, "round-closed"],
      aborted: [409, "round-closed"],
      "wrong-phase": [409, "wrong-phase"],
      duplicate: [409, "duplicate"],
      "unknown-client": [403, "not-selected"],
    };
    const [code, name] = status[e.code] ?? [400, "bad-message"];
    throw new ApiError(code, name, e.message);
  }
}
