// The federated regimes (mrff, fedsasrec) and local training, which is the same procedure with
// every parameter private: nothing is averaged, each client keeps its whole model.
import { ParamStore } from "../autograd/params.js";
import type { Dataset } from "../data/dataset.js";
import { leaveOneOut, type LeaveOneOut } from "../data/split.js";
import type { BackendName } from "../kernels/backend.js";
import { loadWasmBackend } from "../kernels/wasm-backend.js";
import { createModel, schemaOf } from "../model/index.js";
import { Rng } from "../util/rng.js";
import { Aggregator, groupLayout } from "./aggregate.js";
import { ServerOptimizer } from "./server-opt.js";
import type { CheckpointEntry } from "./checkpoint.js";
import { ClientSlots } from "./client-slots.js";
import type { TrainConfig } from "./config.js";
import type { Engine, PhaseProgress, Predictions, RoundStats } from "./engine.js";
import { startExecutor, type Executor } from "./pool.js";
import type { RunnerInit, Task } from "./runner.js";
import { chunksOf, sampleClients } from "./sample.js";
import { deriveSeed, Stream } from "./seed.js";
import { historyStart, privateStateSize, startFromHistory } from "./private-training.js";
import { regimeSpecs } from "./regime.js";
import { DpAggregation } from "./dp-aggregation.js";
import { poissonSample, samplingRate } from "./dp-config.js";
import { rowLayout, type DeltaChunk } from "./robust/client-deltas.js";
import { DeltaAggregator } from "./robust/delta-aggregator.js";
import { sharedTensorUnits } from "./robust/tensor-rules.js";
import { AGGREGATOR_DEFAULTS, isPlainMean } from "./robust/rules.js";
import { loadData, shareDataset } from "./source.js";
import { taskBytes } from "./uplink.js";

export interface EngineHooks {
  /**
   * Sees every chunk's delta rows before aggregation and may change them (the attack bench puts its
   * malicious clients' updates there). Giving it switches training to per-client deltas.
   */
  onDeltas?: (d: DeltaChunk) => void;
}

/** Users predicted per evaluation task (results are tiny, so larger than the training chunk). */
const EVAL_CHUNK = 64;

/** What each client keeps between rounds (client-slots.ts). */
interface Slots {
  privates: ClientSlots;
  /** The private optimiser's state (slots of 0 values unless it keeps one). */
  privateStates: ClientSlots;
  /** [shared | group] error-feedback residuals of compressed updates, or null. */
  residuals: ClientSlots | null;
}

export class FederatedEngine implements Engine {
  private readonly global: Float32Array;
  /** Last round's routing shares (the balance loss's n_k/N); null before the first round. */
  private groupShare: Float64Array | null = null;
  /** Bumped whenever `global` changes, so that runners know to re-read it. */
  private version = 0;

  private constructor(
    private readonly config: TrainConfig,
    readonly ds: Dataset,
    readonly split: LeaveOneOut,
    readonly params: { shared: number; group: number; private: number },
    private readonly exec: Executor,
    private readonly aggregator: Aggregator,
    private readonly server: ServerOptimizer,
    private readonly blocks: number,
    readonly kernels: BackendName,
    /** Bytes of the task frame each participant downloads. */
    private readonly taskBytes: number,
    init: RunnerInit,
    /** Differential privacy's noise and accountant; null: off. */
    private readonly dp: DpAggregation | null,
    /** Set when the round folds per-client deltas (a robust rule, or a hook) instead of chunk sums. */
    private readonly robust: DeltaAggregator | null,
    private readonly hooks: EngineHooks,
    private readonly slots: Slots,
  ) {
    this.global = new Float32Array(init.global);
  }

  static async create(config: TrainConfig, workers: number, hooks: EngineHooks = {}): Promise<FederatedEngine> {
    const be = await loadWasmBackend();
    const ds = shareDataset(loadData(config.data));
    const model = createModel(config.model, schemaOf(ds));
    const allPrivate = config.regime === "local";
    // the initial values: the same seed gives every runner the same store, so only the
    // coordinator's copy is read
    const store = new ParamStore(be, regimeSpecs(model, allPrivate), new Rng(deriveSeed(config.seed, Stream.Init)));
    const shared = store.buffer("shared");
    const group = store.buffer("group");
    const priv = store.buffer("private");
    const global = new SharedArrayBuffer(4 * (shared.size + group.size));
    const g = new Float32Array(global);
    g.set(be.f.subarray(shared.values, shared.values + shared.size), 0);
    g.set(be.f.subarray(group.values, group.values + group.size), shared.size);
    const initial = be.f.slice(priv.values, priv.values + priv.size);
    const ownStart = historyStart(config.model, config.local.private, store);
    const pristine = ownStart ? initial.slice() : null;
    const layout = groupLayout(model, store);
    const aggregator = new Aggregator(shared.size, group.size, layout);
    const dp = config.dp
      ? new DpAggregation(config.dp, { noise: config.seed, population: ds.numUsers, rate: samplingRate(config.participation), sharedSize: shared.size, groupSize: group.size, layout })
      : null;
    // local training communicates nothing
    const down = shared.size + group.size > 0 ? taskBytes(shared.size, group.size, layout) : 0;
    const deltas = !isPlainMean(config.aggregator) || hooks.onDeltas !== undefined;
    // resolved even when every tensor rule is the mean, so that a pattern naming nothing is an error there too
    const units = sharedTensorUnits(config.aggregator, store);
    const robust = deltas ? new DeltaAggregator(config.aggregator ?? AGGREGATOR_DEFAULTS, rowLayout(shared.size, layout), layout, group.size, units, be) : null;
    const params = { shared: shared.size, group: group.size, private: priv.size };
    store.dispose();
    const split = leaveOneOut(ds);
    const slots: Partial<Slots> = {};
    try {
      slots.privates = ClientSlots.create(priv.size, ds.numUsers);
      slots.privateStates = ClientSlots.create(privateStateSize(config.local.private, priv.size), ds.numUsers);
      slots.residuals = config.compression.kind === "f32" ? null : ClientSlots.create(shared.size + group.size, ds.numUsers);
      // every client starts from the same private values (its own bias and personal table, with the
      // click-rate option: the table's rows of values it has not seen keep the initial ones)
      for (let u = 0; u < ds.numUsers; u++) {
        if (ownStart) {
          initial.set(pristine!);
          startFromHistory(ownStart, ds, split, u, initial);
        }
        slots.privates.write(u, initial);
      }
      const init: RunnerInit = {
        data: ds,
        model: config.model,
        allPrivate,
        seed: config.seed,
        simd: be.level,
        local: config.local,
        weighting: config.weighting,
        deltas,
        global,
        privates: slots.privates.file,
        ...(config.dp && { dp: config.dp }),
        compression: config.compression,
        residuals: slots.residuals?.file ?? null,
        ...(config.averaging ? { averaging: config.averaging } : {}),
        privateStates: slots.privateStates.file,
      };
      const exec = await startExecutor(init, workers);
      const server = new ServerOptimizer(shared.size + group.size, config.server);
      return new FederatedEngine(config, ds, split, params, exec, aggregator, server, config.model.blocks, be.name, down, init, dp, robust, hooks, slots as Slots);
    } catch (e) {
      closeSlots(slots);
      throw e;
    }
  }

  get workers(): number {
    return this.exec.workers;
  }

  async trainRound(round: number, progress: PhaseProgress): Promise<RoundStats> {
    const dp = this.dp;
    // DP: the accountant's analysis assumes Poisson sampling
    const ids = dp ? poissonSample(this.ds.numUsers, samplingRate(this.config.participation), this.config.seed, round) : sampleClients(this.ds.numUsers, this.config.participation, this.config.seed, round);
    const chunks = chunksOf(ids, this.config.chunk);
    const tasks: Task[] = chunks.map((clients, chunk) => ({ kind: "train", round, chunk, clients, groupShare: this.groupShare, version: this.version }));
    let done = 0;
    progress(0, ids.length);
    await this.exec.run(tasks, (r) => {
      if (r.kind === "eval") throw new Error("FederatedEngine: an evaluation result during training");
      if (r.kind === "deltas") {
        this.hooks.onDeltas?.(r.result);
        this.robust!.add(r.result);
        done += r.result.clients.length;
      } else {
        // folded results' arrays go back to their runner, for the next chunks
        for (const folded of this.aggregator.add(r.result)) this.exec.recycle(folded);
        done += r.result.clients;
      }
      progress(done, ids.length);
    });
    const release = dp ? (total: Float64Array, routeCount: Float64Array, clients: number) => dp.release(round, total, routeCount, clients, this.global) : undefined;
    const totals = this.robust ? this.robust.finish(this.global, chunks.length, this.server) : this.aggregator.finish(this.global, chunks.length, this.server, release);
    this.version++;
    if (this.params.group > 0) this.groupShare = totals.groupShare;
    return { clients: totals.clients, loss: totals.loss, groupShare: totals.groupShare, bytes: { up: totals.bytesUp, down: ids.length * this.taskBytes }, ...(dp && { epsilon: dp.spent().epsilon }) };
  }

  budgetStop(): string | null {
    return this.dp?.budgetStop() ?? null;
  }

  async evaluate(progress: PhaseProgress): Promise<Predictions> {
    const n = this.ds.numUsers;
    const ids = Int32Array.from({ length: n }, (_, u) => u);
    const tasks: Task[] = chunksOf(ids, EVAL_CHUNK).map((clients, chunk) => ({ kind: "eval", chunk, clients, version: this.version }));
    const L = this.blocks;
    const out: Predictions = { valid: new Float64Array(n), test: new Float64Array(n), routes: new Int32Array(n * L) };
    let done = 0;
    progress(0, n);
    await this.exec.run(tasks, (r) => {
      if (r.kind !== "eval") throw new Error("FederatedEngine: a training result during evaluation");
      const e = r.result;
      e.clients.forEach((u, j) => {
        out.valid[u] = e.valid[j]!;
        out.test[u] = e.test[j]!;
        out.routes.set(e.routes.subarray(j * L, (j + 1) * L), u * L);
      });
      done += e.clients.length;
      progress(done, n);
    });
    return out;
  }

  save(): Record<string, CheckpointEntry> {
    const server = this.server.save();
    const { privates, privateStates, residuals } = this.slots;
    return {
      global: this.global,
      privates: privates.source(),
      privateStates: privateStates.source(),
      groupShare: this.groupShare ?? new Float64Array(0),
      serverM: server.m,
      serverV: server.v,
      serverSteps: server.steps,
      ...(this.dp && { dpRdp: this.dp.save() }),
      ...(residuals ? { residuals: residuals.source() } : {}),
    };
  }

  restore(arrays: Record<string, CheckpointEntry>): void {
    const { global, privates, privateStates, groupShare, serverM, serverV, serverSteps, residuals } = arrays;
    const slots = this.slots;
    if (slots.residuals && !slots.residuals.fits(residuals)) throw new Error(`checkpoint: 'residuals' (error feedback of compressed updates, ${slots.residuals.count} × ${slots.residuals.size} values) missing or of another size`);
    if (!(global instanceof Float32Array) || global.length !== this.global.length) throw new Error(`checkpoint: 'global' does not match the model (${this.global.length} values)`);
    if (!slots.privates.fits(privates)) throw new Error(`checkpoint: 'privates' does not match the model and data (${slots.privates.count} × ${slots.privates.size} values)`);
    // checkpoints written before the private optimiser option carry no 'privateStates'
    const states = privateStates ?? new Float32Array(0);
    if (!slots.privateStates.fits(states)) throw new Error(`checkpoint: 'privateStates' does not match the private optimiser (${slots.privateStates.count} × ${slots.privateStates.size} values)`);
    if (!(groupShare instanceof Float64Array)) throw new Error("checkpoint: 'groupShare' missing");
    if (!(serverM instanceof Float64Array && serverV instanceof Float64Array && serverSteps instanceof Int32Array)) throw new Error("checkpoint: the server optimiser's state is missing");
    const rdp = arrays.dpRdp;
    if (this.dp && !(rdp instanceof Float64Array)) throw new Error("checkpoint: the privacy accountant's state 'dpRdp' is missing");
    this.server.restore({ m: serverM, v: serverV, steps: serverSteps });
    this.global.set(global);
    slots.privates.restore(privates);
    slots.residuals?.restore(residuals!);
    slots.privateStates.restore(states);
    this.groupShare = groupShare.length > 0 ? groupShare : null;
    if (this.dp) this.dp.restore(rdp as Float64Array);
    this.version++;
  }

  async close(): Promise<void> {
    try {
      await this.exec.close();
    } finally {
      // after the workers: they read and write the slots' file
      closeSlots(this.slots);
    }
  }
}

function closeSlots(s: Partial<Slots>): void {
  for (const slots of [s.privates, s.privateStates, s.residuals]) slots?.close();
}
