// The network coordinator's round logic, without any transport (http.ts puts it behind node:http):
// clients register, fetch the open round's task, submit an update; a round selects clients
// (over-selection: more than it needs), closes once enough updates are in or its deadline has
// passed with at least minClients of them (otherwise the deadline moves on and more clients are
// selected), aggregates the accepted updates in client-id order, checkpoints, and opens the next.
// Every refusal is an ApiError thrown before the round's state changes. A failure while a round is
// applied (the global values, the optimiser and the header move, then the checkpoint is written)
// halts the coordinator instead: memory may be half-moved, so it refuses everything with 503 until
// restarted from the last checkpoint, which still holds the round before.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ParamStore } from "../../autograd/params.js";
import type { DataSchema } from "../../data/schema.js";
import { loadWasmBackend } from "../../kernels/wasm-backend.js";
import { createModel, schemaOf } from "../../model/index.js";
import { randomKey } from "../../util/chacha20.js";
import { Rng } from "../../util/rng.js";
import { Aggregator, groupLayout, type ClientDelta, type RoundTotals } from "../aggregate.js";
import { checkConfig, type TrainConfig } from "../config.js";
import type { DpNoise } from "../dp-config.js";
import { clientChunk, rowLayout, type RowLayout } from "../robust/client-deltas.js";
import { DeltaAggregator } from "../robust/delta-aggregator.js";
import { AGGREGATOR_DEFAULTS, isPlainMean, type AggregatorConfig } from "../robust/rules.js";
import { sharedTensorUnits } from "../robust/tensor-rules.js";
import { regimeSpecs } from "../regime.js";
import { sampleClients } from "../sample.js";
import { deriveSeed, Stream } from "../seed.js";
import { ServerOptimizer } from "../server-opt.js";
import { defaultThreshold, SecAggError, type SecAggResult } from "../secagg/index.js";
import { noisedSpec, unpackNoisedSum, type NoisedSpec } from "../secagg/noised-vector.js";
import { secureLength, unpackSecureSum, type SecureLayout } from "../secagg/update-vector.js";
import { decodeFrame, encodeFrame, WireError, type WirePartition } from "../wire/index.js";
import { DpRound, keepCalibration } from "./dp-round.js";
import { ApiError } from "./errors.js";
import { SecureRound, type SecureProgress } from "./secure-round.js";
import { ClientRegistry, CLIENTS_FILE } from "./registry.js";
import { loadState, saveState, type CoordinatorHeader, type RoundSummary } from "./state.js";
import { readUpdate, type UpdateShape } from "./update.js";

/**
 * How soon a waiting client should ask again. Not the round's deadline: a round closes as soon as
 * enough updates are in and the next one opens at once, so a client told to wait until the
 * deadline can miss a whole round (it did, under load, in the process integration test).
 */
export const POLL_SECONDS = 1;

export interface CoordinatorOptions {
  /** Model, local training, server optimiser, seed, rounds; participation = clients selected per round. */
  config: TrainConfig;
  /** The field vocabulary the model is built for. */
  schema: DataSchema;
  /** Folder of the checkpoint and the client registry (created); a checkpoint there is resumed. */
  stateDir: string;
  /** A round opens once this many clients are registered, and closes at its deadline with at least this many updates (default 1). */
  minClients?: number;
  /** A round closes as soon as this many updates are accepted (default: every selected client's). */
  updatesPerRound?: number;
  /** Time a round waits for updates before it closes with what it has, if that is enough (default 60 s). */
  roundDeadlineMs?: number;
  /** Registrations beyond this are refused (default 10,000). */
  maxClients?: number;
  /** One line per event; never a client's values (default: none). */
  log?: (line: string) => void;
  /** Milliseconds clock (default Date.now), for tests. */
  now?: () => number;
  /**
   * Secure aggregation (README "Secure aggregation over the network"): the coordinator learns only
   * each round's sum. `bound` clips every delta coordinate before quantisation (required without
   * DP; with DP the range follows from the clip and the noise, secagg/noised-vector.ts);
   * `threshold` is the fewest clients a round may finish with (default ⌊n/2⌋ + 1 of the n selected).
   */
  secure?: { bound?: number; threshold?: number };
  /** DP runs: the secret key of the sampling and the noise (8 u32 words; default: from WebCrypto, kept in the checkpoint), for tests. */
  dpSecretKey?: readonly number[];
  /** Called once if the coordinator halts (a round failed while it was applied), with the reason: its process should stop and be restarted. */
  onHalt?: (reason: string) => void;
}

/** The messages of a secure round after the task, by endpoint (/v1/secagg/<kind>). */
export type SecureKind = "keys" | "shares" | "masked" | "unmask";

/** What a client needs besides the task to train as the coordinator expects. */
export interface ClientConfig {
  regime: TrainConfig["regime"];
  model: TrainConfig["model"];
  local: TrainConfig["local"];
  seed: number;
  weighting: TrainConfig["weighting"];
  rounds: number;
  /** Which data the model is for: the synthetic generator's options, or a folder (its path stays here). */
  data: { kind: "folder" } | { kind: "synthetic"; options: object };
  /**
   * DP runs: the L2 bound every update must be clipped to before it is sent, where the noise is
   * added and σ: with secure aggregation `noise: "local"`, and the device draws its own noise from σ
   * (secagg/noised-vector.ts); with central noise σ is what the coordinator adds (a device's noise
   * floor checks it, net-client/noise-floor.ts).
   */
  dp?: { clip: number; noise: DpNoise; noiseMultiplier: number };
}

export interface Registration {
  client: number;
  token: string;
  round: number;
  config: ClientConfig;
  schema: DataSchema;
}

/**
 * `aggregated`: the last round whose aggregate holds this client's update (-1: none), so that a
 * client keeps the private values of a round only once its update counted (an update accepted in a
 * round that a restart lost does not).
 */
export type TaskReply =
  | { kind: "task"; round: number; frame: Uint8Array; aggregated: number }
  /** Nothing to do now: ask again after `retryAfter` seconds; `finished` once every round has run. */
  | { kind: "wait"; retryAfter: number; finished: boolean; aggregated: number };

/**
 * The last round as a DP run's status shows it: no ids, counts, byte sizes or timings. The
 * amplified ε assumes that who took part, and how many, stays secret; the status needs no token.
 * `skipped`: the round released nothing (the model did not change, which anyone can see anyway).
 */
export interface DpRoundStatus {
  round: number;
  epsilon: number;
  skipped?: true;
  charges?: number;
}

export interface CoordinatorStatus {
  round: number;
  rounds: number;
  open: boolean;
  finished: boolean;
  /** `selected`, `submitted`: of the open round (else 0); not in DP runs (DpRoundStatus). */
  clients: { registered: number; selected?: number; submitted?: number };
  /** The last round's summary; in DP runs only its DpRoundStatus. */
  last: RoundSummary | DpRoundStatus | null;
  /**
   * DP runs: ε spent so far of the budget (ε, δ), where the noise is added, and why the run stopped
   * early, if it did. `perParticipation`: ε against anyone who knows which clients took part (a
   * reader of the coordinator's logs or checkpoint; with local noise the coordinator itself, hence
   * also `coordinator`): no sampling amplification, for a client in every charged round, a re-run
   * after a crash included (DpRound.coordinatorEpsilon).
   */
  privacy?: { epsilon: number; budget: number; delta: number; noise: "central" | "local"; stopped: string | null; perParticipation: number; coordinator?: number };
  /** Why the coordinator halted (a round failed while it was applied; restart it to resume from its checkpoint); absent while it runs. */
  halted?: string;
}

interface OpenRound {
  round: number;
  opened: number;
  deadline: number;
  selected: Set<number>;
  /** Accepted updates, by client id: memory only, never written anywhere. */
  updates: Map<number, ClientDelta>;
  updateBytes: number;
  extensions: number;
  /** The encoded task, the same for every selected client. */
  task: Uint8Array;
  /** This attempt's secure aggregation; null for a plain round. */
  secure: SecureRound | null;
  /** Earlier attempts of this round that aborted (secure rounds: below the threshold). */
  attempt: number;
  /** The secure sum is being unmasked (asynchronously): the round takes no more messages. */
  finishing: boolean;
  /** DP secure rounds: the devices' noise and quantisation ranges (null otherwise). */
  noised: NoisedSpec | null;
  /** DP runs: the round's earlier charges (a re-run after a crash draws its sample and noise afresh); 0 otherwise. */
  draw: number;
  /** DP runs: this attempt is charged to the accountant (durably), so nothing else composes it. */
  charged: boolean;
}

export class Coordinator {
  private open: OpenRound | null = null;
  private readonly minClients: number;
  private readonly updatesPerRound: number;
  private readonly deadlineMs: number;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  /** The last round each client's update was aggregated in (from the history). */
  private readonly lastAggregated = new Map<number, number>();
  /** Values of the largest valid update: shared, the largest expert of each block, routes, meta. */
  readonly maxUpdateValues: number;
  /**
   * Largest update frame a client may send: 8 bytes a value (top-k keeping every value sends an
   * index and a value each, twice raw f32), plus the partition table.
   */
  readonly maxUpdateBytes: number;
  /** Elements of a secure round's vector (0 for plain rounds). */
  readonly secureLength: number;
  /** The clipping bound as the task carries it (f32), so that both ends quantise with one scale. */
  private readonly secureBound: number;
  /** The unmasking of a secure round, while it runs (close() waits for it). */
  private unmasking: Promise<void> | null = null;
  /** Why the coordinator halted (null while it runs): see `applying`. */
  private halted: string | null = null;

  private constructor(
    private readonly opts: CoordinatorOptions,
    private readonly header: CoordinatorHeader,
    private readonly global: Float32Array,
    private groupShare: Float64Array,
    /** What an update frame must hold for this model. */
    readonly shape: UpdateShape,
    private readonly aggregator: Aggregator,
    private readonly server: ServerOptimizer,
    private readonly registry: ClientRegistry,
    private readonly dp: DpRound | null,
    /** A robust rule (the config's aggregator is not the plain mean): what aggregates plain rounds instead of `aggregator`. */
    private readonly robust: { aggregator: DeltaAggregator; rows: RowLayout } | null,
  ) {
    const { sharedSize, blocks, layout } = shape;
    let experts = 0;
    if (layout) for (let l = 0; l < blocks; l++) experts += Math.max(...layout.size.subarray(l * layout.groups, (l + 1) * layout.groups));
    this.maxUpdateValues = sharedSize + experts + blocks + 2;
    this.maxUpdateBytes = 8 * this.maxUpdateValues + 64 * (blocks + 3) + 4096;
    this.minClients = opts.minClients ?? 1;
    this.updatesPerRound = opts.updatesPerRound ?? Infinity;
    this.deadlineMs = opts.roundDeadlineMs ?? 60_000;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.secureLength = opts.secure ? secureLength(this.secureLayout()) : 0;
    this.secureBound = Math.fround(opts.secure?.bound ?? 1);
    for (const r of header.history) for (const id of r.accepted) this.lastAggregated.set(id, r.round);
  }

  /** A coordinator at round 0 with the seed's initial values, or resumed from the state folder. */
  static async create(opts: CoordinatorOptions): Promise<Coordinator> {
    const { schema, stateDir } = opts;
    let { config } = opts;
    checkConfig(config);
    if (config.regime !== "mrff" && config.regime !== "fedsasrec") throw new RangeError(`the coordinator runs federated regimes (mrff, fedsasrec), not ${config.regime}`);
    const minClients = opts.minClients ?? 1;
    if (!(Number.isInteger(minClients) && minClients >= 1)) throw new RangeError(`minClients must be a positive integer, got ${minClients}`);
    const goal = opts.updatesPerRound ?? Infinity;
    if (!(goal >= minClients && (goal === Infinity || Number.isInteger(goal)))) throw new RangeError(`updatesPerRound must be an integer >= minClients (${minClients}), got ${goal}`);
    const deadline = opts.roundDeadlineMs ?? 60_000;
    if (!(deadline > 0 && Number.isFinite(deadline))) throw new RangeError(`roundDeadlineMs must be positive, got ${deadline}`);
    if (opts.secure) checkSecure(opts.secure, config, minClients);
    if (!isPlainMean(config.aggregator)) checkRobust(config);
    // a device keeps its private values between rounds, not a private Adam's moments
    if (config.local.private?.optimizer === "adam") throw new RangeError("the devices keep no private optimiser state between rounds: a private optimizer over the network is shared or sgd, not adam");

    const be = await loadWasmBackend();
    const model = createModel(config.model, schemaOf(schema));
    const store = new ParamStore(be, regimeSpecs(model, false), new Rng(deriveSeed(config.seed, Stream.Init)));
    const S = store.buffer("shared").size;
    const G = store.buffer("group").size;
    const layout = groupLayout(model, store);
    const global = new Float32Array(S + G);
    global.set(be.f.subarray(store.buffer("shared").values, store.buffer("shared").values + S), 0);
    global.set(be.f.subarray(store.buffer("group").values, store.buffer("group").values + G), S);
    // resolved against the model now (as the in-process engine does, even when every tensor rule is
    // the mean), so that a pattern naming no parameter stops the coordinator before any round
    const units = sharedTensorUnits(config.aggregator, store);
    store.dispose();
    const rows = isPlainMean(config.aggregator) ? null : rowLayout(S, layout);
    const robust = rows && { aggregator: new DeltaAggregator(config.aggregator!, rows, layout, G, units, be), rows };

    mkdirSync(stateDir, { recursive: true });
    const server = new ServerOptimizer(S + G, config.server);
    let header: CoordinatorHeader = { format: 1, config, schema, round: 0, history: [] };
    let groupShare: Float64Array = new Float64Array(0);
    const saved = loadState(stateDir);
    if (saved) {
      config = keepCalibration(saved.header.config, config);
      const differ = settingsThatDiffer(saved.header, config, schema);
      if (differ.length > 0) throw new Error(`${stateDir} holds a run with other settings (${differ.join(", ")}): use another state folder, or the run's settings`);
      if (saved.global.length !== global.length) throw new Error(`${stateDir}: the checkpoint holds ${saved.global.length} values, the model has ${global.length}`);
      server.restore(saved.server);
      global.set(saved.global);
      groupShare = saved.groupShare;
      header = { ...saved.header, config };
    }
    const registry = new ClientRegistry(join(stateDir, CLIENTS_FILE), opts.maxClients ?? 10_000);
    const shape = { sharedSize: S, blocks: config.model.blocks, layout };
    let dp: DpRound | null = null;
    let keyless = false;
    if (config.dp) {
      keyless = header.dpSecretKey === undefined;
      header.dpSecretKey ??= [...(opts.dpSecretKey ?? randomKey())];
      dp = new DpRound(config.dp, config, shape, G, header.dpSecretKey, opts.secure !== undefined);
      if (saved) {
        if (!saved.dpRdp) throw new Error(`${stateDir}: the checkpoint has no privacy accountant state`);
        dp.restore(saved.dpRdp);
      }
    }
    const c = new Coordinator(opts, header, global, groupShare, shape, new Aggregator(S, G, layout), server, registry, dp, robust);
    if (saved) {
      c.log(`resumed from ${stateDir} at round ${header.round} of ${config.rounds}, ${registry.size} clients registered`);
      if (keyless) {
        // a checkpoint from before the 256-bit key (its 32-bit seed could be searched): the new key, durably, before it draws anything
        c.checkpoint();
        c.log("the checkpoint held no secret key (it predates them): a fresh one draws the sample and the noise from here on");
      }
    } else {
      c.checkpoint();
      c.log(`started in ${stateDir}: ${config.rounds} rounds, ${S} shared and ${G} group parameters`);
    }
    if (robust) c.log(`robust aggregation: ${describeRule(config.aggregator!)}; a round holds every accepted update until it closes`);
    if (dp) c.log(`differential privacy: budget epsilon ${dp.dp.epsilon} (delta ${dp.dp.delta}), noise multiplier ${dp.dp.noiseMultiplier}, clip ${dp.dp.clip}, sampling rate ${dp.rate}, noise added ${dp.dp.noise === "local" ? "by the devices inside secure aggregation" : "by the coordinator"}; ${dp.spent().toFixed(4)} spent`);
    const unapplied = header.dpCharged;
    if (dp && unapplied?.round === header.round) {
      const next = c.finished ? `no budget left to run it again (${dp.budgetStop()})` : "it runs again with a fresh sample and noise, charged again";
      c.log(`round ${unapplied.round} was charged to the privacy budget ${unapplied.times === 1 ? "once" : `${unapplied.times} times`} and not applied (the coordinator stopped after charging it): ${next}`);
    }
    c.openIfReady();
    return c;
  }

  get finished(): boolean {
    return this.header.round >= this.header.config.rounds || (this.dp?.budgetStop() ?? null) !== null;
  }

  /** Registers a client (once the registry file holds it); may open a round. */
  async register(): Promise<Registration> {
    this.assertRunning();
    const { id, token } = await this.registry.register();
    this.log(`client ${id} registered (${this.registry.size} registered)`);
    this.openIfReady();
    const { config, schema } = this.header;
    const data = config.data.kind === "synthetic" ? { kind: "synthetic" as const, options: config.data.options } : { kind: "folder" as const };
    return {
      client: id,
      token,
      round: this.header.round,
      config: { regime: config.regime, model: config.model, local: config.local, seed: config.seed, weighting: config.weighting, rounds: config.rounds, data, ...(config.dp && { dp: deviceDp(config.dp) }) },
      schema,
    };
  }

  /** Throws 401 unless `token` is registered client `client`'s (task and submit check it too). */
  authenticate(client: number, token: string): void {
    this.registry.authenticate(client, token);
  }

  /** The open round's task if `client` is selected and has not submitted yet. */
  task(client: number, token: string): TaskReply {
    this.assertRunning();
    this.registry.authenticate(client, token);
    this.tick();
    const o = this.open;
    const aggregated = this.lastAggregated.get(client) ?? -1;
    if (!o) return { kind: "wait", retryAfter: POLL_SECONDS, finished: this.finished, aggregated };
    const wanted = o.secure ? o.secure.wantsTaskFrom(client) : o.selected.has(client) && !o.updates.has(client);
    if (!wanted) return { kind: "wait", retryAfter: POLL_SECONDS, finished: false, aggregated };
    return { kind: "task", round: o.round, frame: o.task, aggregated };
  }

  /** Takes a client's update frame for the open round (closing the round if it was the last one needed). */
  submit(client: number, token: string, body: Uint8Array): { accepted: true; round: number } {
    this.assertRunning();
    this.registry.authenticate(client, token);
    this.tick();
    let frame;
    try {
      // the limits bound what a frame can make the decoder allocate (a sparse partition claims a
      // dense length its bytes do not pay for), with room to spare so that readUpdate names a wrong
      // partition or length (400) rather than the decoder (413)
      frame = decodeFrame(body, { maxBytes: this.maxUpdateBytes, maxPartitions: 2 * (this.shape.blocks + 3) + 8, maxElements: 2 * this.maxUpdateValues + 64 });
    } catch (e) {
      if (e instanceof WireError) throw new ApiError(e.code === "too-large" ? 413 : 400, e.code, e.message);
      throw e;
    }
    if (frame.type !== "update") throw new ApiError(400, "bad-type", `expected an update frame, got a ${frame.type} frame`);
    const o = this.open;
    if (!o || frame.round !== o.round) {
      throw new ApiError(409, "round-closed", o ? `round ${frame.round} is not open (round ${o.round} is)` : `round ${frame.round} is not open (no round is)`);
    }
    if (o.secure) throw new ApiError(409, "secure-round", `round ${o.round} aggregates securely: it takes the /v1/secagg/ messages, not a plain update`);
    if (!o.selected.has(client)) throw new ApiError(403, "not-selected", `client ${client} is not selected in round ${o.round}`);
    if (o.updates.has(client)) throw new ApiError(409, "duplicate", `client ${client} already sent its update for round ${o.round}`);
    const delta = readUpdate(frame, this.shape, this.header.config.weighting);
    this.dp?.checkClip(delta, client);
    o.updates.set(client, delta);
    o.updateBytes += body.length;
    this.log(`round ${o.round}: update from client ${client} accepted (${body.length} bytes, ${o.updates.size} of ${o.selected.size} selected)`);
    if (o.updates.size >= Math.min(this.updatesPerRound, o.selected.size)) this.close(o);
    return { accepted: true, round: o.round };
  }

  /** Acts on the clock: closes or extends a round past its deadline. Cheap; call it often. */
  tick(): void {
    if (this.halted !== null) return;
    const o = this.open;
    if (o?.secure) {
      if (!o.finishing) this.onSecureProgress(o, o.secure.progress());
      return;
    }
    if (!o || this.now() < o.deadline) return;
    // DP: no extension (it would break the Poisson sample), the round closes with what it has
    if (o.updates.size >= this.minClients || this.dp) {
      this.close(o);
      return;
    }
    o.extensions++;
    o.deadline = this.now() + this.deadlineMs;
    const added = this.select(o.round, o.extensions, o.selected);
    for (const id of added) o.selected.add(id);
    this.log(`round ${o.round} extended (${o.updates.size} of at least ${this.minClients} updates): ${added.length ? `clients ${added.join(",")} selected too` : "nobody else to select"}`);
  }

  /** What GET /v1/status shows anyone (no token): in DP runs nothing of who or how many took part. */
  status(): CoordinatorStatus {
    const o = this.open;
    const last = this.header.history[this.header.history.length - 1] ?? null;
    const base = { round: this.header.round, rounds: this.header.config.rounds, open: o !== null, finished: this.finished, ...(this.halted !== null && { halted: this.halted }) };
    const dp = this.dp;
    if (!dp) {
      const submitted = o?.secure ? o.secure.server.progress.masked : (o?.updates.size ?? 0);
      return { ...base, clients: { registered: this.registry.size, selected: o?.selected.size ?? 0, submitted }, last };
    }
    const perParticipation = this.coordinatorEpsilon();
    return {
      ...base,
      clients: { registered: this.registry.size },
      last: last && dpRoundStatus(last),
      privacy: { epsilon: dp.spent(), budget: dp.dp.epsilon, delta: dp.dp.delta, noise: dp.dp.noise, stopped: dp.budgetStop(), perParticipation, ...(dp.dp.noise === "local" && { coordinator: perParticipation }) },
    };
  }

  /** The global [shared | group] values (a copy). */
  globalValues(): Float32Array {
    return this.global.slice();
  }

  private openIfReady(attempt = 0): void {
    if (this.open || this.finished || this.halted !== null || this.registry.size < this.minClients) return;
    const round = this.header.round;
    const draw = this.header.dpCharged?.round === round ? this.header.dpCharged.times : 0;
    // an attempt after an aborted one draws its cohort afresh (as an extension would)
    const selected = new Set(this.dp ? this.dp.select(this.registry.ids(), round, draw) : this.select(round, attempt, new Set()));
    const now = this.now();
    if (this.opts.secure && this.dp) {
      // a Poisson cohort may be too small to aggregate securely: the round releases nothing (DP
      // rounds always use the majority threshold, checkSecure)
      if (selected.size < 3) return this.skipRound({ round, opened: now, selected, draw, charged: false }, 0, `a cohort of ${selected.size}, fewer than the 3 a secure round needs`);
    }
    // a DP secure round is charged before the coordinator can ask for the shares that unmask its sum
    let o!: OpenRound;
    const secure = this.opts.secure ? this.secureRound([...selected].sort((a, b) => a - b), this.dp ? () => this.charge(o) : undefined) : null;
    const noised = secure && this.dp ? noisedSpec(this.dp.dp, secure.server.params.threshold, this.shape.layout?.blocks ?? 0, selected.size) : null;
    const S = this.shape.sharedSize;
    const task = encodeFrame({
      type: "task",
      round,
      partitions: [
        { name: "shared", encoding: "f32", length: S, values: this.global.subarray(0, S) },
        { name: "group", encoding: "f32", length: this.global.length - S, values: this.global.subarray(S) },
        { name: "groupShare", encoding: "f32", length: this.groupShare.length, values: Float32Array.from(this.groupShare) },
        { name: "meta", encoding: "f32", length: 1, values: Float32Array.of(round) },
        ...(secure ? secureTaskPartitions(secure, noised ? noised.values.bound : this.secureBound) : []),
      ],
    });
    o = { round, opened: now, deadline: now + this.deadlineMs, selected, updates: new Map(), updateBytes: 0, extensions: 0, task, secure, attempt, finishing: false, noised, draw, charged: false };
    this.open = o;
    const noise = noised ? `, device noise std ${noised.std.toPrecision(4)} = sigma C / sqrt(threshold), range ${noised.values.bound.toPrecision(4)}` : "";
    this.log(`round ${round} open${secure ? ` (secure, attempt ${attempt}, threshold ${secure.server.params.threshold}${noise})` : ""}: clients ${[...selected].join(",")} selected of ${this.registry.size} registered`);
  }

  /**
   * Clients to select among the registered ones not in `taken`: the configured participation of
   * them (at least minClients), drawn from (seed, round, extension) alone. Not DP runs: their
   * cohort is DpRound's Poisson sample, never extended.
   */
  private select(round: number, extension: number, taken: ReadonlySet<number>): number[] {
    const pool = this.registry.ids().filter((id) => !taken.has(id));
    if (pool.length === 0) return [];
    const p = this.header.config.participation;
    const want = Math.max(this.minClients, "ratio" in p ? Math.round(p.ratio * pool.length) : p.count);
    const picks = sampleClients(pool.length, { count: want }, deriveSeed(this.header.config.seed, extension), round);
    return Array.from(picks, (i) => pool[i]!);
  }

  private close(o: OpenRound): void {
    // central DP: charged before the noise is added and the release exists
    if (this.dp) this.charge(o);
    const ids = [...o.updates.keys()].sort((a, b) => a - b);
    this.applying(o.round, () => {
      if (this.robust) {
        this.advance(o, ids, o.updateBytes, this.applyRobust(o, ids));
        return;
      }
      const touched = this.header.config.averaging === "touched";
      for (const id of ids) this.aggregator.addDelta(o.updates.get(id)!, touched);
      this.advance(o, ids, o.updateBytes, this.applyMean(o));
    });
  }

  /**
   * Runs `apply`, which moves the global values, the server optimiser and the header to the next
   * round and checkpoints. Should it throw half-way, memory no longer matches the checkpoint on disk
   * (the round before), and carrying on would serve a model no checkpoint holds, or fold the next
   * round into half-filled sums: the coordinator halts instead (503 for everything, `onHalt`), and a
   * restart resumes from the checkpoint.
   */
  private applying(round: number, apply: () => void): void {
    try {
      apply();
    } catch (e) {
      // a round opened at the end of this one may have halted already (nested): keep the first reason
      if (this.halted !== null) throw e;
      this.halted = `round ${round} failed while it was applied (${e instanceof Error ? e.message : String(e)}); restart the coordinator to resume from its last checkpoint`;
      this.open = null;
      this.log(`halted: ${this.halted}`);
      this.opts.onHalt?.(this.halted);
      throw new ApiError(503, "halted", this.halted);
    }
  }

  /** Refuses every request of a halted coordinator (its memory may be half-moved: see `applying`). */
  private assertRunning(): void {
    if (this.halted !== null) throw new ApiError(503, "halted", `the coordinator halted: ${this.halted}`);
  }

  /** Moves the global values to what the aggregator holds (DP: its noised release). */
  private applyMean(o: OpenRound): RoundTotals {
    return this.aggregator.finish(this.global, 0, this.server, this.dp?.release(o.round, this.global, o.draw, o.noised ? o.secure!.server.params.threshold : undefined));
  }

  /**
   * Moves the global values by the robust rule over the round's updates, as the in-process engine
   * does (DeltaAggregator): each update a chunk of one row, in client-id order (the rules are order
   * invariant anyway, aggregate-rows.ts). Each update leaves the round's map as its row is made, so
   * the round holds every client's values once, not twice.
   */
  private applyRobust(o: OpenRound, ids: readonly number[]): RoundTotals {
    const { aggregator, rows } = this.robust!;
    ids.forEach((id, i) => {
      aggregator.add(clientChunk(rows, i, id, o.updates.get(id)!));
      o.updates.delete(id);
    });
    return aggregator.finish(this.global, ids.length, this.server);
  }

  /** Records the applied round (the clients `ids`' updates, `totals` of them), checkpoints, opens the next round. */
  private advance(o: OpenRound, ids: number[], updateBytes: number, totals: RoundTotals): void {
    if (this.shape.layout) this.groupShare = totals.groupShare;
    for (const id of ids) this.lastAggregated.set(id, o.round);
    const summary: RoundSummary = {
      round: o.round,
      selected: o.selected.size,
      clients: totals.clients,
      accepted: ids,
      loss: totals.loss,
      samples: totals.samples,
      updateBytes,
      extensions: o.extensions,
      ...(o.secure ? { aborted: o.attempt } : {}),
      seconds: (this.now() - o.opened) / 1000,
      ...(this.dp && { epsilon: this.dp.spent() }),
      ...(o.noised && { withheld: true }),
      ...(o.draw > 0 && { charges: o.draw + 1 }),
    };
    const metrics = summary.withheld ? "loss and samples withheld (DP)" : `mean loss ${summary.loss.toFixed(4)}, ${summary.samples} samples`;
    this.finishRound(summary, `round ${o.round} closed: ${summary.clients} updates of ${summary.selected} selected, ${metrics}, ${summary.seconds.toFixed(2)} s`);
  }

  /**
   * A DP secure round that releases nothing (its cohort too small to aggregate securely, or its
   * attempt aborted): the model stays, the round is spent — not re-run, which would re-draw its
   * Poisson sample — and composed into the accountant (conservatively: nothing was released), unless
   * the attempt was charged already (it aborted while or after its sum was unmasked).
   */
  private skipRound(o: Pick<OpenRound, "round" | "opened" | "selected" | "draw" | "charged">, updateBytes: number, why: string): void {
    this.applying(o.round, () => this.recordSkip(o, updateBytes, why));
  }

  private recordSkip(o: Pick<OpenRound, "round" | "opened" | "selected" | "draw" | "charged">, updateBytes: number, why: string): void {
    if (!o.charged) this.dp!.charge();
    const summary: RoundSummary = {
      round: o.round,
      selected: o.selected.size,
      clients: 0,
      accepted: [],
      loss: 0,
      samples: 0,
      updateBytes,
      extensions: 0,
      seconds: (this.now() - o.opened) / 1000,
      epsilon: this.dp!.spent(),
      withheld: true,
      skipped: why,
      ...(o.draw > 0 && { charges: o.draw + 1 }),
    };
    this.finishRound(summary, `round ${o.round} skipped (${why}): nothing applied`);
  }

  /**
   * ε so far without sampling amplification, for a client in every charge: against anyone who knows
   * membership (the logs, the checkpoint), and with local noise against the coordinator (each
   * charge may have shown it a noised sum).
   */
  private coordinatorEpsilon(): number {
    return this.dp!.coordinatorEpsilon(this.charges());
  }

  /** Charges so far (a checkpoint written before they were counted: its completed rounds). */
  private charges(): number {
    return this.header.dpCharges ?? this.header.history.filter((h) => h.skipped === undefined).length;
  }

  /**
   * DP: charges round `o` to the accountant and makes that durable (the checkpoint) BEFORE the
   * coordinator can learn what the round releases, so that a crash from here on has spent the
   * budget rather than hidden a release (dp-round.ts, "Crashes"). If the write fails nothing is
   * charged and the round goes no further (it is tried again at the next tick).
   */
  private charge(o: OpenRound): void {
    const dp = this.dp!;
    const before = { rdp: dp.save(), charged: this.header.dpCharged, charges: this.header.dpCharges };
    dp.charge();
    this.header.dpCharged = { round: o.round, times: o.draw + 1 };
    this.header.dpCharges = this.charges() + 1;
    try {
      this.checkpoint();
    } catch (e) {
      dp.restore(before.rdp);
      this.header.dpCharged = before.charged;
      this.header.dpCharges = before.charges;
      throw e;
    }
    o.charged = true;
    const what = o.secure ? "before its sum is unmasked" : "before its noise is added and it is released";
    this.log(`round ${o.round}: charged to the privacy budget ${what}${o.draw > 0 ? ` (charge ${o.draw + 1} of this round)` : ""}, epsilon spent ${dp.spent().toFixed(4)} of ${dp.dp.epsilon}`);
  }

  /** Records a round's summary, checkpoints, logs it (with ε in DP runs) and opens the next round. */
  private finishRound(summary: RoundSummary, line: string): void {
    this.header.history.push(summary);
    this.header.round = summary.round + 1;
    delete this.header.dpCharged;
    this.open = null;
    this.checkpoint();
    // this log names the clients of every round: against its reader only the per-participation ε holds
    const against = this.dp ? `; per participation ${this.coordinatorEpsilon().toFixed(4)} (against whoever knows who took part${this.dp.dp.noise === "local" ? ", the coordinator included" : ""}: no sampling amplification, a client in every charged round)` : "";
    this.log(`${line}${summary.epsilon !== undefined ? `, epsilon spent ${summary.epsilon.toFixed(4)} of ${this.dp!.dp.epsilon} (delta ${this.dp!.dp.delta})${against}` : ""}`);
    if (this.finished) this.log(`training finished: ${this.header.round} rounds${this.header.round < this.header.config.rounds ? ` (${this.dp?.budgetStop()})` : ""}`);
    this.openIfReady();
  }

  // ---- secure rounds (secure-round.ts drives the protocol; these only route and apply) ----------

  /** A client's message of a secure round's phase: JSON text, or the masked-input frame. */
  secureMessage(client: number, token: string, kind: SecureKind, body: Uint8Array): { accepted: true; round: number } {
    const { o, secure } = this.secureOpen(client, token);
    let p: SecureProgress;
    if (kind === "masked") {
      p = secure.maskedInput(client, body);
      this.log(`round ${o.round}: masked input from client ${client} accepted (${body.length} bytes, ${secure.server.progress.masked} of ${o.selected.size} selected)`);
    } else {
      const text = new TextDecoder().decode(body);
      p = kind === "keys" ? secure.advertise(client, text) : kind === "shares" ? secure.shareKeys(client, text) : secure.unmask(client, text);
    }
    this.onSecureProgress(o, p);
    return { accepted: true, round: o.round };
  }

  /** The coordinator's message of a secure round's phase for `client`, or when to ask again (the phase may close any moment). */
  secureFetch(client: number, token: string, kind: Exclude<SecureKind, "masked">): { ready: true; body: string } | { ready: false; retryAfter: number } {
    const { secure } = this.secureOpen(client, token);
    const p = kind === "keys" ? secure.keyDirectory(client) : kind === "shares" ? secure.shareDelivery(client) : secure.unmaskRequest(client);
    return p.ready ? p : { ready: false, retryAfter: POLL_SECONDS };
  }

  /** Largest body of a secure message: the masked frame, or a JSON message with an entry per cohort member. */
  secureBodyLimit(kind: SecureKind): number {
    return kind === "masked" ? 4 * this.secureLength + 4096 : 512 * (this.open?.selected.size ?? 0) + 4096;
  }

  /** Waits for an unmasking in flight (a coordinator that stops lets it land first). */
  async settled(): Promise<void> {
    while (this.unmasking) await this.unmasking;
  }

  private secureOpen(client: number, token: string): { o: OpenRound; secure: SecureRound } {
    this.assertRunning();
    this.registry.authenticate(client, token);
    this.tick();
    const o = this.open;
    if (!o?.secure || o.finishing) throw new ApiError(409, "round-closed", o?.secure ? `round ${o.round} is being unmasked` : "no secure round is open");
    return { o, secure: o.secure };
  }

  private secureLayout(): SecureLayout {
    const { sharedSize, layout } = this.shape;
    return { shared: sharedSize, group: this.global.length - sharedSize, experts: layout };
  }

  private secureRound(cohort: number[], beforeUnmask: (() => void) | undefined): SecureRound {
    const threshold = this.opts.secure!.threshold ?? Math.max(2, defaultThreshold(cohort.length));
    const session = globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
    return new SecureRound({ session, cohort, threshold, length: this.secureLength, phaseMs: this.deadlineMs, now: this.now, beforeUnmask });
  }

  private onSecureProgress(o: OpenRound, p: SecureProgress): void {
    if (p === "aborted") this.abortSecure(o, o.secure!.abortReason);
    else if (p === "finish" && !o.finishing) {
      o.finishing = true;
      // what fails while unmasking (a secret that cannot be rebuilt) ends the attempt, never the
      // coordinator; what fails while applying the sum halts it (`applying`, abortSecure then finds
      // no open round)
      const done = o.secure!
        .finish()
        .then((result) => this.closeSecure(o, result))
        .catch((e: unknown) => this.abortSecure(o, e instanceof SecAggError ? `${e.code}: ${e.message}` : `internal: ${e instanceof Error ? e.message : String(e)}`));
      const settled: Promise<void> = done.finally(() => {
        if (this.unmasking === settled) this.unmasking = null;
      });
      this.unmasking = settled;
    }
  }

  /**
   * The attempt failed (too few clients, or a sum that cannot be one): nothing of it is applied; the
   * round runs again, or under DP is skipped (a re-run would re-draw its Poisson sample).
   */
  private abortSecure(o: OpenRound, why: string): void {
    if (this.open !== o) return;
    if (this.dp) {
      this.log(`round ${o.round}: secure attempt aborted (${why.split(":")[0]})`);
      this.skipRound(o, o.secure!.maskedBytes, `secure attempt aborted: ${why.split(":")[0]}`);
      return;
    }
    this.open = null;
    this.log(`round ${o.round}: secure attempt ${o.attempt} aborted (${why.split(":")[0]}); nothing applied, the round runs again`);
    this.openIfReady(o.attempt + 1);
  }

  private closeSecure(o: OpenRound, result: SecAggResult): void {
    if (this.open !== o) return;
    const { survivors } = result;
    let sum;
    try {
      sum = o.noised
        ? unpackNoisedSum(result.sum, this.secureLayout(), o.noised, survivors.length)
        : unpackSecureSum(result.sum, this.secureLayout(), { bound: this.secureBound, clients: o.selected.size }, survivors.length);
    } catch (e) {
      // a client sent an input outside the quantisation range: the sum is no sum of valid updates
      if (!(e instanceof RangeError)) throw e;
      this.abortSecure(o, "bad-sum");
      return;
    }
    if (result.flagged.length > 0) this.log(`round ${o.round}: clients ${result.flagged.join(",")} revealed wrong shares (left out of the unmasking)`);
    this.applying(o.round, () => {
      this.aggregator.addSum(sum);
      this.advance(o, survivors, o.secure!.maskedBytes, this.applyMean(o));
    });
  }

  private checkpoint(): void {
    saveState(this.opts.stateDir, { header: this.header, global: this.global, groupShare: this.groupShare, server: this.server.save(), ...(this.dp && { dpRdp: this.dp.save() }) });
  }
}

/**
 * Settings of a saved run that the given ones change (rounds may change: a run can be extended).
 * Over the keys of both: an optional setting the saved run has and the given one lacks (a robust
 * aggregator, DP, touched averaging) is a change too, not silently dropped on a restart.
 */
function settingsThatDiffer(saved: CoordinatorHeader, config: TrainConfig, schema: DataSchema): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(saved.config), ...Object.keys(config)]) as Set<keyof TrainConfig>) {
    if (key !== "rounds" && JSON.stringify(saved.config[key]) !== JSON.stringify(config[key])) out.push(key);
  }
  if (JSON.stringify(saved.schema) !== JSON.stringify(schema)) out.push("data schema");
  return out;
}

function checkSecure(secure: NonNullable<CoordinatorOptions["secure"]>, config: TrainConfig, minClients: number): void {
  if (config.dp) {
    // the devices clip to C and noise before quantising: the range follows from C and the noise
    if (secure.bound !== undefined) throw new RangeError("secure aggregation with differential privacy takes no bound: the quantisation range follows from the clip and the noise");
    // the release's noise is topped up to a fixed √ρ·σC, which needs r/T < ρ for every round: true
    // of the majority threshold, unbounded for a fixed T (secagg/noised-vector.ts, releaseTopUp)
    if (secure.threshold !== undefined) throw new RangeError("secure aggregation with differential privacy takes no threshold: a fixed threshold T lets the released noise grow with the cohort (r/T unbounded), so it would reveal the cohort's size; DP rounds use the majority threshold");
  } else if (!(secure.bound !== undefined && secure.bound > 0 && Number.isFinite(secure.bound))) throw new RangeError(`secure aggregation: bound must be a finite number > 0, got ${secure.bound}`);
  const t = secure.threshold;
  if (t !== undefined && !(Number.isInteger(t) && t >= 2)) throw new RangeError(`secure aggregation: threshold must be an integer >= 2, got ${t}`);
  // a cohort smaller than the threshold (or of one) could never finish, or would reveal its one update
  if (minClients < Math.max(3, t ?? 0)) throw new RangeError(`secure aggregation needs minClients >= ${Math.max(3, t ?? 0)} (at least 3 and the threshold), got ${minClients}`);
  if (config.weighting !== "uniform") throw new RangeError(`secure aggregation weighs every client 1: the weighting must be uniform, not ${config.weighting}`);
  if (config.averaging === "touched") throw new RangeError("touched averaging counts which values each client changed, which a masked input hides: use averaging all");
  if (!isPlainMean(config.aggregator)) throw new RangeError("robust aggregators need each client's update, and secure aggregation reveals only the round's sum: use the mean");
}

/**
 * A robust rule over the network (checkConfig has refused it with DP, touched averaging and
 * compression): the coordinator cannot check a device's sample count, so it weighs every client 1 —
 * under weighting samples a hostile device claiming 1e30 samples would own the weighted mean of a
 * norm-bounded rule (and median and trimmed mean count every client once anyway).
 */
function checkRobust(config: TrainConfig): void {
  if (config.weighting !== "uniform") throw new RangeError(`a robust aggregator over the network weighs every client 1 (a device's sample count is its own claim): the weighting must be uniform, not ${config.weighting}`);
}

/** The robust rule for the start-up log line. */
function describeRule(a: AggregatorConfig): string {
  const tensors = (a.tensors ?? []).map((t) => `${t.pattern}=${t.kind}`).join(",");
  return `shared ${a.shared}, group ${a.group}${tensors ? `, tensors ${tensors}` : ""} (trim ${a.trim}, norm bound ${a.bound}, agree ${a.agree ?? AGGREGATOR_DEFAULTS.agree})`;
}

/** A round's summary as a DP run's status shows it (DpRoundStatus). */
function dpRoundStatus(r: RoundSummary): DpRoundStatus {
  return { round: r.round, epsilon: r.epsilon!, ...(r.skipped !== undefined && { skipped: true as const }), ...(r.charges !== undefined && { charges: r.charges }) };
}

/** What a device is told of the run's DP settings: the clip, where the noise is added, σ. */
function deviceDp(dp: NonNullable<TrainConfig["dp"]>): NonNullable<ClientConfig["dp"]> {
  return { clip: dp.clip, noise: dp.noise, noiseMultiplier: dp.noiseMultiplier };
}

/** What a secure round's task adds: the session, threshold and cohort size (i32), and the clipping bound (f32). */
function secureTaskPartitions(secure: SecureRound, bound: number): WirePartition[] {
  const { threshold } = secure.server.params;
  return [
    { name: "secagg", encoding: "i32", length: 3, values: Int32Array.of(secure.session | 0, threshold, secure.cohortSize) },
    { name: "secaggBound", encoding: "f32", length: 1, values: Float32Array.of(bound) },
  ];
}
