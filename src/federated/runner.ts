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
import { LocalTrainer, type LocalOptions } from "./client.js";
import { deriveSeed, Stream } from "./seed.js";
import { regimeSpecs } from "./regime.js";
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
  /** Shared values averaged over all participants (METHOD.md; absent = "all") or over those that changed each. */
  averaging?: Averaging;
  /** [shared | group] global values, written by the coordinator between rounds. */
  global: SharedArrayBuffer;
  /** clients × private-partition values. */
  privates: SharedArrayBuffer;
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

export type TaskResult = { kind: "train"; result: ChunkResult } | { kind: "eval"; result: EvalResult };

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
    return new ClientRunner(init, store, trainer, new ChunkSums(store, groupLayout(model, store)));
  }

  run(task: Task): TaskResult {
    return task.kind === "train" ? { kind: "train", result: this.train(task) } : { kind: "eval", result: this.evaluate(task) };
  }

  private train(task: Extract<Task, { kind: "train" }>): ChunkResult {
    this.refreshCopy(task.version);
    this.sums.clear();
    const groupShare = task.groupShare ?? undefined;
    for (const c of task.clients) {
      this.loadGlobal();
      this.loadPrivate(c);
      this.trainer.loadPrivateState(this.privateStates, c);
      const upd = this.trainer.train(c, new Rng(deriveSeed(this.init.seed, Stream.Dropout, task.round, c)), groupShare);
      this.savePrivate(c);
      this.trainer.savePrivateState(this.privateStates, c);
      this.sums.add(this.init.weighting === "samples" ? upd.samples : 1, upd.routes, upd.loss, upd.samples, this.init.averaging === "touched" ? this.globalCopy : undefined);
    }
    this.storeVersion = -1;
    return this.sums.result(task.chunk);
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
