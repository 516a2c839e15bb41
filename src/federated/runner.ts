// A worker's (or the in-process executor's) side of a round: it owns a backend, a model, a
// ParamStore and the data set, and runs chunks of clients. The round's global values live in shared
// memory and what every client keeps between rounds in the clients' slot files (client-slots.ts),
// so any runner can take any chunk.
import { ParamStore } from "../autograd/params.js";
import type { Dataset } from "../data/dataset.js";
import { leaveOneOut } from "../data/split.js";
import { loadWasmBackend, type SimdLevel, type WasmBackend } from "../kernels/wasm-backend.js";
import { createModel, schemaOf } from "../model/index.js";
import type { ModelConfig } from "../model/types.js";
import { Rng } from "../util/rng.js";
import { ChunkSums, groupLayout, type ChunkResult } from "./aggregate.js";
import { LocalTrainer, type ClientUpdate, type LocalOptions } from "./client.js";
import { ClientSlots, type SlotFile } from "./client-slots.js";
import type { Compression } from "./config.js";
import { DpClient, type DpClientOptions } from "./dp-client.js";
import { DeltaRecorder, rowLayout, type DeltaChunk } from "./robust/client-deltas.js";
import { deriveSeed, Stream } from "./seed.js";
import { regimeSpecs } from "./regime.js";
import { updateShape, Uplink } from "./uplink.js";
import { rawFrameBytes } from "./wire/index.js";
import type { Averaging } from "./touched-average.js";

export type Weighting = "uniform" | "samples";

export interface RunnerInit {
  /** The data set, its arrays in shared memory (shareDataset). */
  data: Dataset;
  model: ModelConfig;
  /** Local training: every parameter is private, nothing is aggregated. */
  allPrivate: boolean;
  seed: number;
  simd: SimdLevel;
  local: LocalOptions;
  weighting: Weighting;
  /** Return each client's delta (a robust aggregator needs them all) instead of chunk sums. */
  deltas: boolean;
  /** Shared values averaged over all participants (METHOD.md; absent = "all") or over those that changed each. */
  averaging?: Averaging;
  /** [shared | group] global values, written by the coordinator between rounds. */
  global: SharedArrayBuffer;
  /** Each client's private-partition values. */
  privates: SlotFile;
  /** Differential privacy: clip (and in local mode noise) each client's update; absent: off. */
  dp?: DpClientOptions;
  compression: Compression;
  /** Each client's [shared | group] error-feedback residuals (null when updates go uncompressed). */
  residuals: SlotFile | null;
  /** Each client's private optimiser state (private-training.ts; slots of 0 values when it keeps none). */
  privateStates: SlotFile;
}

export type Task =
  | { kind: "train"; round: number; chunk: number; clients: Int32Array; groupShare: Float64Array | null; version: number }
  | { kind: "eval"; chunk: number; clients: Int32Array; version: number };

export interface EvalResult {
  chunk: number;
  clients: Int32Array;
  valid: Float64Array;
  test: Float64Array;
  /** clients × blocks: the group each client's validation window chose at each block. */
  routes: Int32Array;
}

export type TaskResult = { kind: "train"; result: ChunkResult } | { kind: "deltas"; result: DeltaChunk } | { kind: "eval"; result: EvalResult };

/** A training result's arrays going back to the runner that made them, once the coordinator has folded them. */
export interface Recycle {
  kind: "recycle";
  result: ChunkResult;
}

/** The buffers a result owns (each array has a buffer of its own), to transfer instead of copy. */
export function transferables(r: TaskResult): ArrayBuffer[] {
  const views =
    r.kind === "train" ? [r.result.sums, r.result.groupWeight, r.result.routeCount, ...(r.result.touched ? [r.result.touched] : [])]
    : r.kind === "deltas" ? [r.result.clients, r.result.deltas, r.result.routes, r.result.weights]
    : [r.result.clients, r.result.valid, r.result.test, r.result.routes];
  return views.map((v) => v.buffer as ArrayBuffer);
}

export class ClientRunner {
  private readonly global: Float32Array;
  private readonly privates: ClientSlots;
  private readonly privateStates: ClientSlots;
  /** The client in training's private optimiser state (empty when it keeps none). */
  private readonly stateSlot: Float32Array;
  /** Backend copy of the global values, refreshed when the coordinator's version changes. */
  private readonly globalCopy: number;
  private copyVersion = -1;
  /** Version of the global values the store holds untouched, or -1 after training changed them. */
  private storeVersion = -1;

  private constructor(
    private readonly init: RunnerInit,
    /** The store's backend, whose memory is f32 (the slots' type). */
    private readonly be: WasmBackend,
    private readonly store: ParamStore,
    private readonly trainer: LocalTrainer,
    private readonly sums: ChunkSums,
    private readonly dp: DpClient | null,
    /** The wire path of compressed updates; null: trained values are summed as they are. */
    private readonly uplink: Uplink | null,
    private readonly deltas: DeltaRecorder | null,
  ) {
    this.global = new Float32Array(init.global);
    this.privates = ClientSlots.attach(init.privates);
    this.privateStates = ClientSlots.attach(init.privateStates);
    this.stateSlot = new Float32Array(init.privateStates.size);
    this.globalCopy = store.be.alloc(this.global.length);
  }

  static async create(init: RunnerInit): Promise<ClientRunner> {
    const be = await loadWasmBackend({ simd: init.simd });
    const ds = init.data;
    const model = createModel(init.model, schemaOf(ds));
    const store = new ParamStore(be, regimeSpecs(model, init.allPrivate), new Rng(deriveSeed(init.seed, Stream.Init)));
    const S = store.buffer("shared").size + store.buffer("group").size;
    const P = store.buffer("private").size;
    if (init.global.byteLength !== 4 * S) throw new RangeError(`ClientRunner: global buffer holds ${init.global.byteLength / 4} values, the model has ${S}`);
    const slotsOf = (f: SlotFile, size: number, what: string) => {
      if (f.size !== size || f.count !== ds.numUsers) throw new RangeError(`ClientRunner: ${what} slots are ${f.count} × ${f.size} values, expected ${ds.numUsers} × ${size}`);
    };
    slotsOf(init.privates, P, "private");
    const trainer = new LocalTrainer(model, store, ds, leaveOneOut(ds), init.local);
    slotsOf(init.privateStates, trainer.privateStateSize, "private optimiser");
    const layout = groupLayout(model, store);
    const dp = init.dp ? new DpClient(init.dp, store, layout, init.seed) : null;
    let uplink: Uplink | null = null;
    if (init.compression.kind !== "f32") {
      if (!init.residuals) throw new RangeError("ClientRunner: compressed updates need error-feedback residual slots");
      slotsOf(init.residuals, S, "residual");
      uplink = new Uplink(store, layout, init.compression, ClientSlots.attach(init.residuals));
    }
    const deltas = init.deltas ? new DeltaRecorder(store, layout, rowLayout(store.buffer("shared").size, layout)) : null;
    return new ClientRunner(init, be, store, trainer, new ChunkSums(store, layout), dp, uplink, deltas);
  }

  run(task: Task): TaskResult {
    if (task.kind === "eval") return { kind: "eval", result: this.evaluate(task) };
    this.train(task);
    return this.deltas ? { kind: "deltas", result: this.deltas.result() } : { kind: "train", result: this.sums.result(task.chunk) };
  }

  /** Takes back a training result's arrays (Aggregator.add returned it) for a later chunk. */
  recycle(r: ChunkResult): void {
    this.sums.recycle(r);
  }

  /** Trains the task's clients, into the chunk sums or the delta rows. */
  private train(task: Extract<Task, { kind: "train" }>): void {
    this.refreshCopy(task.version);
    if (this.deltas) this.deltas.begin(task.chunk, task.clients);
    else this.sums.clear();
    const groupShare = task.groupShare ?? undefined;
    for (const c of task.clients) {
      this.loadGlobal();
      this.loadPrivate(c);
      if (this.stateSlot.length > 0) {
        this.privateStates.read(c, this.stateSlot);
        this.trainer.loadPrivateState(this.stateSlot, 0);
      }
      let upd = this.trainer.train(c, task.round, new Rng(deriveSeed(this.init.seed, Stream.Dropout, task.round, c)), groupShare);
      this.savePrivate(c);
      if (this.stateSlot.length > 0) {
        this.trainer.savePrivateState(this.stateSlot, 0);
        this.privateStates.write(c, this.stateSlot);
      }
      // DP: the store's shared and group values become the client's clipped update
      this.dp?.prepare(this.globalCopy, c, task.round, upd.routes);
      let bytes: number;
      if (this.uplink) ({ bytes, update: upd } = this.uplink.send(c, task.round, this.global, upd));
      else bytes = this.rawUpdateBytes(upd);
      const w = this.init.weighting === "samples" ? upd.samples : 1;
      if (this.deltas) this.deltas.add(this.global, w, upd.routes, upd.loss, upd.samples, bytes);
      else this.sums.add(w, upd.routes, upd.loss, upd.samples, bytes, this.dp?.allExperts, this.init.averaging === "touched" ? this.globalCopy : undefined);
    }
    this.storeVersion = -1;
  }

  private evaluate(task: Extract<Task, { kind: "eval" }>): EvalResult {
    this.refreshCopy(task.version);
    if (this.storeVersion !== task.version) {
      this.loadGlobal();
      this.storeVersion = task.version;
    }
    const n = task.clients.length;
    const blocks = this.trainer.model.config.blocks;
    const out: EvalResult = { chunk: task.chunk, clients: task.clients, valid: new Float64Array(n), test: new Float64Array(n), routes: new Int32Array(n * blocks) };
    task.clients.forEach((c, j) => {
      this.loadPrivate(c);
      const p = this.trainer.predict(c);
      out.valid[j] = p.valid;
      out.test[j] = p.test;
      out.routes.set(p.routes, j * blocks);
    });
    return out;
  }

  /** Size of the update as a raw f32 frame; 0 when the regime sends nothing (local). */
  private rawUpdateBytes(upd: ClientUpdate): number {
    const shared = this.store.buffer("shared").size;
    if (shared + this.store.buffer("group").size === 0) return 0;
    return rawFrameBytes(updateShape(shared, this.sums.layout, upd.routes));
  }

  private refreshCopy(version: number): void {
    if (this.copyVersion === version) return;
    this.store.be.f.set(this.global, this.globalCopy);
    this.copyVersion = version;
  }

  /** Copies the round's global values into the shared and group buffers. */
  private loadGlobal(): void {
    const f = this.store.be.f;
    const shared = this.store.buffer("shared");
    const group = this.store.buffer("group");
    f.copyWithin(shared.values, this.globalCopy, this.globalCopy + shared.size);
    f.copyWithin(group.values, this.globalCopy + shared.size, this.globalCopy + shared.size + group.size);
  }

  private loadPrivate(c: number): void {
    this.privates.read(c, this.be.f, this.store.buffer("private").values);
  }

  private savePrivate(c: number): void {
    this.privates.write(c, this.be.f, this.store.buffer("private").values);
  }
}
