// A federated device over HTTP (NET-API.md), for Node and browsers alike (fetch only): registers,
// then loops: fetch the open round's task, train its own user on it (RoundTrainer), send the
// update, and keep the round's private values once the coordinator reports that its aggregate
// holds the update. Network errors and 5xx are retried with backoff (Transport); a coordinator
// restart is waited out; a coordinator that forgot this client (401 unknown-client) gets a new
// registration.
import type { Dataset } from "../../data/dataset.js";
import { syntheticDataset } from "../../data/synthetic.js";
import type { Backend } from "../../kernels/backend.js";
import { loadWasmBackend } from "../../kernels/wasm-backend.js";
import { HEADERS, readRegistration, readTask, type ClientConfig, type RegisteredAs } from "./protocol.js";
import { RoundTrainer } from "./round-trainer.js";
import { noiseFloorRefusal } from "./noise-floor.js";
import { runSecureRound, type SecureChannel } from "./secure-device.js";
import { encodeUpdate, RAW, type UpdateCompression } from "./update-frame.js";
import { clipUpdate } from "../dp-update.js";
import type { NormalSource } from "../dp-client.js";
import type { DeviceDp } from "../secagg/noised-vector.js";
import { freshState, MemoryStateStore, type ClientState, type Residuals, type StateStore } from "./state.js";
import { abortableSleep, errorCode, Transport, TransportError, type Reply, type RetryOptions, type TransportHooks } from "./transport.js";

export type ClientEvent =
  | { kind: "registered"; client: number; round: number }
  | { kind: "task"; round: number }
  | { kind: "trained"; round: number; loss: number; samples: number; routes: number[] }
  | { kind: "accepted"; round: number; bytes: number }
  /** Refused (409 round-closed or 403 not-selected); "aggregated" or "lost" follows. */
  | { kind: "refused"; round: number; error: string }
  /** The round's aggregate holds the update: its private values are now the device's. */
  | { kind: "aggregated"; round: number }
  /** No aggregate holds the update (refused, or lost with a coordinator restart): its private values are dropped. */
  | { kind: "lost"; round: number }
  | { kind: "retry"; attempt: number; delayMs: number; reason: string }
  | { kind: "finished" };

export interface FederatedClientOptions {
  /** The coordinator's base URL, e.g. http://127.0.0.1:8080. */
  server: string;
  /** Raw id of this device's user in its data. */
  user: number;
  /** The device's data, or how to get it from the run's settings (e.g. the synthetic generator's options). */
  data: Dataset | ((config: ClientConfig) => Dataset | Promise<Dataset>);
  /** Where the registration, private values and residuals persist (default: memory). */
  store?: StateStore;
  /** Kernels (default: the WASM backend at the best SIMD level this runtime has). */
  backend?: Backend;
  compression?: UpdateCompression;
  /** Stop after this many accepted updates (default: when the coordinator says training is over). */
  maxRounds?: number;
  retry?: Partial<RetryOptions>;
  hooks?: Partial<TransportHooks>;
  onEvent?: (e: ClientEvent) => void;
  /** Aborting stops the loop at its next wait or request. */
  signal?: AbortSignal;
  /** Sent with the registration (the coordinator does not keep it). */
  label?: string;
  /** DP secure rounds: where the device's noise draws come from (default WebCrypto), for tests. */
  noise?: NormalSource;
  /**
   * The least noise multiplier Z this device takes part with (noise-floor.ts): it refuses
   * (ClientError, before training) a run without DP, a DP task whose σ is below Z, and a secure DP
   * task whose per-device std σC/√T is below Z·C/√T. Default: none (the device trusts the run's σ).
   */
  minNoise?: number;
}

export interface ClientSummary {
  client: number;
  /** Rounds whose update the coordinator accepted during this run. */
  accepted: number[];
  /** The coordinator reported that every round has run. */
  finished: boolean;
}

/** A device's fatal problem: the coordinator refused it in a way retrying cannot fix. */
export class ClientError extends Error {
  override readonly name = "ClientError";
}

const SYNTHETIC_ONLY = "the coordinator's run is not on synthetic data: give the device its data";

/** The synthetic data set of the run's settings (for devices that carry no files, e.g. a browser tab). */
export function syntheticData(config: ClientConfig): Dataset {
  if (config.data.kind !== "synthetic") throw new ClientError(SYNTHETIC_ONLY);
  return syntheticDataset(config.data.options);
}

export class FederatedClient {
  private readonly http: Transport;
  private readonly store: StateStore;
  private readonly emit: (e: ClientEvent) => void;
  /** The device's state as last saved (run() loads it). */
  private state!: ClientState;
  private trainer: RoundTrainer | null = null;
  private trainerFor = "";
  private userIndex = -1;

  constructor(private readonly opts: FederatedClientOptions) {
    if (!Number.isFinite(opts.user)) throw new RangeError(`user must be a number, got ${opts.user}`);
    if (opts.maxRounds !== undefined && !(Number.isInteger(opts.maxRounds) && opts.maxRounds >= 1)) throw new RangeError(`maxRounds must be a positive integer, got ${opts.maxRounds}`);
    if (opts.minNoise !== undefined && !(opts.minNoise > 0 && Number.isFinite(opts.minNoise))) throw new RangeError(`minNoise must be a positive number, got ${opts.minNoise}`);
    this.emit = opts.onEvent ?? (() => {});
    this.http = new Transport(opts.server, opts.retry, { ...opts.hooks, onRetry: (attempt, delayMs, reason) => this.emit({ kind: "retry", attempt, delayMs, reason }) });
    this.store = opts.store ?? new MemoryStateStore();
  }

  /** Takes part in rounds until training is over, maxRounds updates were accepted, or the signal stops it. */
  async run(): Promise<ClientSummary> {
    this.state = (await this.store.load()) ?? freshState(this.opts.user);
    if (this.state.user !== this.opts.user) throw new ClientError(`the saved state belongs to user ${this.state.user}, not ${this.opts.user}`);
    const accepted: number[] = [];
    try {
      return await this.loop(accepted);
    } catch (e) {
      // stopped mid-request: what is saved is consistent, so stopping is no failure
      if (this.opts.signal?.aborted && e instanceof TransportError) return this.summary(accepted, false);
      throw e;
    }
  }

  private async loop(accepted: number[]): Promise<ClientSummary> {
    const signal = this.opts.signal;
    for (;;) {
      if (signal?.aborted) return this.summary(accepted, false);
      if (this.opts.maxRounds !== undefined && accepted.length >= this.opts.maxRounds) return this.summary(accepted, false);
      if (!this.state.registration) await this.register();
      const reg = this.state.registration!;
      const reply = await this.request("GET", "/v1/task", reg);
      if (reply.status === 401) {
        await this.forgotten(reply);
        continue;
      }
      const aggregated = intHeader(reply, HEADERS.aggregated);
      if (reply.status === 204) {
        const finished = reply.headers.get(HEADERS.finished) === "1";
        await this.settle(aggregated, finished ? Infinity : null);
        if (finished) {
          this.emit({ kind: "finished" });
          return this.summary(accepted, true);
        }
        const wait = Number(reply.headers.get("retry-after"));
        // honour retry-after, plus up to a tenth more so that waiting devices do not come back as one
        const seconds = Number.isFinite(wait) && wait >= 0 ? wait : 1;
        await this.sleep(seconds * 1000 * (1 + 0.1 * Math.random()));
        continue;
      }
      if (reply.status !== 200) throw this.unexpected("GET /v1/task", reply);
      const trainer = await this.trainerOf(reg);
      const lay = trainer.layout;
      const task = readTask(reply.body, trainer.sizes, lay ? lay.blocks * lay.groups : 0);
      if (this.opts.minNoise !== undefined) {
        const refusal = noiseFloorRefusal(this.opts.minNoise, reg.config.dp, task.secure, task.round);
        if (refusal) throw new ClientError(refusal);
      }
      await this.settle(aggregated, task.round);
      this.emit({ kind: "task", round: task.round });
      const out = trainer.train(this.userIndex, task, this.state.private ?? trainer.initialPrivate(this.userIndex));
      this.emit({ kind: "trained", round: out.round, loss: out.loss, samples: out.samples, routes: [...out.routes] });
      if (task.secure) {
        // a secure round sends the masked vector instead of an update frame (no compression, so no residuals move)
        await this.save({ ...this.state, pending: { round: out.round, private: out.private, residuals: cloneResiduals(this.state.residuals) } });
        const layout = { shared: trainer.sizes.shared, group: trainer.sizes.group, experts: trainer.layout };
        const r = await runSecureRound(reg.client, task.secure, out, layout, this.secureChannel(reg), { dp: deviceNoise(reg), normal: this.opts.noise });
        if (r.kind === "accepted") {
          accepted.push(out.round);
          this.emit({ kind: "accepted", round: out.round, bytes: r.bytes });
        } else this.emit({ kind: "refused", round: out.round, error: r.error });
        continue;
      }
      // DP run: the update leaves the device clipped to the coordinator's bound (the coordinator refuses a larger one)
      const compression = this.opts.compression ?? RAW;
      if (reg.config.dp) {
        if (reg.config.dp.noise === "local") throw new ClientError("the coordinator's DP run has the devices add the noise, which only a secure round carries, and sent a plain task");
        // a lossy encoding with error feedback would send residuals the accountant never saw
        if (compression.encoding !== "f32") throw new ClientError(`the coordinator runs differential privacy, which takes uncompressed updates, not ${compression.encoding}`);
        clipUpdate([out.shared, ...out.experts.map((e) => e.delta)], reg.config.dp.clip);
      }
      const residuals = cloneResiduals(this.state.residuals);
      const frame = encodeUpdate(out, compression, residuals, trainer.backend);
      await this.save({ ...this.state, pending: { round: out.round, private: out.private, residuals } });
      if (await this.send(frame, out.round)) accepted.push(out.round);
    }
  }

  /**
   * POSTs an update frame; true when the coordinator has it. A retried POST may find its first
   * attempt in (409 duplicate: accepted) or the round closed after it (409 round-closed: maybe
   * in), so a refusal leaves the pending values for settle() to keep or drop from what the
   * coordinator reports next.
   */
  private async send(frame: Uint8Array, round: number): Promise<boolean> {
    const reply = await this.request("POST", "/v1/update", this.state.registration!, frame);
    const error = errorCode(reply);
    if (reply.status === 200 || (reply.status === 409 && error === "duplicate")) {
      this.emit({ kind: "accepted", round, bytes: frame.length });
      return true;
    }
    if (reply.status === 401) {
      await this.forgotten(reply);
      return false;
    }
    if ((reply.status === 409 && error === "round-closed") || (reply.status === 403 && error === "not-selected")) {
      this.emit({ kind: "refused", round, error });
      return false;
    }
    throw this.unexpected("POST /v1/update", reply);
  }

  /**
   * Keeps or drops the pending update's private values: kept once the coordinator reports an
   * aggregate at or after its round that holds it; dropped once a round at or after it is open (or
   * training is over) and none does. Until then the device trains nothing, so nothing is lost.
   */
  private async settle(aggregated: number | null, open: number | null): Promise<void> {
    const p = this.state.pending;
    if (!p) return;
    if (aggregated !== null && aggregated >= p.round) {
      await this.save({ ...this.state, round: p.round, private: p.private, residuals: p.residuals, pending: null });
      this.emit({ kind: "aggregated", round: p.round });
    } else if (open !== null && open >= p.round) {
      await this.save({ ...this.state, pending: null });
      this.emit({ kind: "lost", round: p.round });
    }
  }

  /** Makes `next` the device's state, saved before anything acts on it. */
  private async save(next: ClientState): Promise<void> {
    await this.store.save(next);
    this.state = next;
  }

  /** Registers; the device keeps its values when the new registration is for the same run as `previous`. */
  private async register(previous = this.state.registration): Promise<void> {
    const body = JSON.stringify(this.opts.label === undefined ? {} : { label: this.opts.label });
    const reply = await this.http.request("POST", "/v1/register", { body, headers: { "content-type": "application/json" }, signal: this.opts.signal });
    if (reply.status !== 200) throw this.unexpected("POST /v1/register", reply);
    const { registration: reg, round } = readRegistration(reply.body);
    // another run (other settings) starts the device afresh: its private values belong to the old one
    const sameRun = previous !== null && JSON.stringify(previous.config) === JSON.stringify(reg.config);
    await this.save(sameRun ? { ...this.state, registration: reg, pending: null } : { ...freshState(this.state.user), registration: reg });
    this.emit({ kind: "registered", client: reg.client, round });
  }

  /**
   * A 401: re-register when the coordinator does not know this client (an update it held is gone
   * with its registration); any other 401 is fatal.
   */
  private async forgotten(reply: Reply): Promise<void> {
    if (errorCode(reply) !== "unknown-client") throw this.unexpected("authentication", reply);
    await this.register(this.state.registration);
  }

  private async trainerOf(reg: RegisteredAs): Promise<RoundTrainer> {
    const key = JSON.stringify([reg.config, reg.schema]);
    if (this.trainer && this.trainerFor === key) return this.trainer;
    const data = typeof this.opts.data === "function" ? await this.opts.data(reg.config) : this.opts.data;
    const be = this.opts.backend ?? (await loadWasmBackend());
    const t = RoundTrainer.create({ model: reg.config.model, local: reg.config.local, seed: reg.config.seed }, data, be, reg.schema);
    this.userIndex = t.userIndex(this.opts.user);
    this.trainer = t;
    this.trainerFor = key;
    return t;
  }

  /** A secure round's requests; a POST that a retry finds already taken (409 duplicate) went in. */
  private secureChannel(reg: RegisteredAs): SecureChannel {
    return {
      post: async (kind, body) => {
        const reply = await this.request("POST", `/v1/secagg/${kind}`, reg, body);
        return reply.status === 409 && errorCode(reply) === "duplicate" ? { ...reply, status: 200 } : reply;
      },
      get: (kind) => this.request("GET", `/v1/secagg/${kind}`, reg),
      wait: (seconds) => this.sleep(seconds * 1000 * (1 + 0.1 * Math.random())),
    };
  }

  private request(method: "GET" | "POST", path: string, reg: RegisteredAs, body?: Uint8Array | string): Promise<Reply> {
    const headers: Record<string, string> = { [HEADERS.client]: String(reg.client), authorization: `Bearer ${reg.token}` };
    if (body !== undefined) headers["content-type"] = typeof body === "string" ? "application/json" : "application/octet-stream";
    return this.http.request(method, path, { body, headers, signal: this.opts.signal });
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await (this.opts.hooks?.sleep ?? abortableSleep)(ms, this.opts.signal);
    } catch {
      // stopped: the loop returns at its next check
    }
  }

  private unexpected(what: string, reply: Reply): ClientError {
    let message = "";
    try {
      const j = JSON.parse(new TextDecoder().decode(reply.body)) as { error?: string; message?: string };
      message = `${j.error ?? ""}${j.message ? `: ${j.message}` : ""}`;
    } catch {
      // no JSON body
    }
    return new ClientError(`${what}: the coordinator answered ${reply.status}${message ? ` (${message})` : ""}`);
  }

  private summary(accepted: number[], finished: boolean): ClientSummary {
    return { client: this.state.registration?.client ?? 0, accepted, finished };
  }
}

/** The DP settings a secure round noises with: none, or the clip and σ of a local-noise run (a central one cannot be secure). */
function deviceNoise(reg: RegisteredAs): DeviceDp | undefined {
  const dp = reg.config.dp;
  if (!dp) return undefined;
  const sigma = dp.noiseMultiplier;
  if (dp.noise !== "local" || !(typeof sigma === "number" && sigma > 0 && Number.isFinite(sigma) && dp.clip > 0 && Number.isFinite(dp.clip))) {
    throw new ClientError("the coordinator's DP run sent a secure task without local noise settings (dp.noise local, a positive noiseMultiplier and clip)");
  }
  return { clip: dp.clip, noiseMultiplier: sigma };
}

function intHeader(reply: Reply, name: string): number | null {
  const v = reply.headers.get(name);
  const n = v === null ? NaN : Number(v);
  return Number.isInteger(n) ? n : null;
}

function cloneResiduals(r: Residuals): Residuals {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice()]));
}
