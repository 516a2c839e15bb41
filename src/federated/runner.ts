// A worker's (or the in-process executor's) side of a round: it owns a backend, a model, a
// ParamStore and the data set, and runs chunks of clients. The round's global values and every
// client's private values live in shared memory, so any runner can take any chunk.
import { ParamStore } from "../autograd/params.js";
import type { Dataset } from "../data/dataset.js";
import { leaveOneOut } from "../data/split.js";
import { loadWasmBackend, type SimdLevel } from "../kernels/wasm-backend.js";
import { createModel, schemaOf } from "../model/index.js";
import type { ModelConfig } from "../model/types.js";
import { Rng } from "../util/rng.js";
import { ChunkSums, groupLayout, type ChunkResult } from "./aggregate.js";
import { LocalTrainer, type ClientUpdate, type LocalOptions } from "./client.js";
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
  /** clients × private-partition values. */
  privates: SharedArrayBuffer;
  /** Differential privacy: clip (and in local mode noise) each client's update; absent: off. */
  dp?: DpClientOptions;
  compression: Compression;
  /** clients × [shared | group]: error-feedback residuals (null when updates go uncompressed). */
  residuals: SharedArrayBuffer | null;
  /** clients × the private optimiser's state (private-training.ts; empty when it keeps none). */
  privateStates: SharedArrayBuffer;
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

export class ClientRunner {
  private readonly global: Float32Array;
  private readonly privates: Float32Array;
  private readonly privateStates: Float32Array;
  /** Backend copy of the global values, refreshed when the coordinator's version changes. */
  private readonly globalCopy: number;
  private copyVersion = -1;
  /** Version of the global values the store holds untouched, or -1 after training changed them. */
  private storeVersion = -1;

  private constructor(
    private readonly init: RunnerInit,
    private readonly store: ParamStore,
    private readonly trainer: LocalTrainer,
    private readonly sums: ChunkSums,
    private readonly dp: DpClient | null,
    /** The wire path of compressed updates; null: trained values are summed as they are. */
    private readonly uplink: Uplink | null,
    private readonly deltas: DeltaRecorder | null,
  ) {
    this.global = new Float32Array(init.global);
    this.privates = new Float32Array(init.privates);
    this.privateStates = new Float32Array(init.privateStates);
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
    if (init.privates.byteLength !== 4 * P * ds.numUsers) throw new RangeError(`ClientRunner: private buffer holds ${init.privates.byteLength / 4} values, expected ${ds.numUsers} × ${P}`);
    const trainer = new LocalTrainer(model, store, ds, leaveOneOut(ds), init.local);
    if (init.privateStates.byteLength !== 4 * trainer.privateStateSize * ds.numUsers) {
      throw new RangeError(`ClientRunner: private optimiser buffer holds ${init.privateStates.byteLength / 4} values, expected ${ds.numUsers} × ${trainer.privateStateSize}`);
    }
    const layout = groupLayout(model, store);
    const dp = init.dp ? new DpClient(init.dp, store, layout, init.seed) : null;
    let uplink: Uplink | null = null;
    if (init.compression.kind !== "f32") {
      if (!init.residuals || init.residuals.byteLength !== 4 * S * ds.numUsers) throw new RangeError(`ClientRunner: compressed updates need ${ds.numUsers} × ${S} residual values`);
      uplink = new Uplink(store, layout, init.compression, new Float32Array(init.residuals));
    }
    const deltas = init.deltas ? new DeltaRecorder(store, layout, rowLayout(store.buffer("shared").size, layout)) : null;
    return new ClientRunner(init, store, trainer, new ChunkSums(store, layout), dp, uplink, deltas);
  }

  run(task: Task): TaskResult {
    if (task.kind === "eval") return { kind: "eval", result: this.evaluate(task) };
    this.train(task);
    return this.deltas ? { kind: "deltas", result: this.deltas.result() } : { kind: "train", result: this.sums.result(task.chunk) };
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
      this.trainer.loadPrivateState(this.privateStates, c);
      let upd = this.trainer.train(c, task.round, new Rng(deriveSeed(this.init.seed, Stream.Dropout, task.round, c)), groupShare);
      this.savePrivate(c);
      this.trainer.savePrivateState(this.privateStates, c);
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
    const b = this.store.buffer("private");
    this.store.be.f.set(this.privates.subarray(c * b.size, (c + 1) * b.size), b.values);
  }

  private savePrivate(c: number): void {
    const b = this.store.buffer("private");
    this.privates.set(this.store.be.f.subarray(b.values, b.values + b.size), c * b.size);
  }
}
