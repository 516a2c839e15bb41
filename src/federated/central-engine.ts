// The centralised baseline: one model on the pooled data, trained by ordinary minibatch Adam (the
// optimiser keeps its state across the run); a "round" is one epoch over every user's training
// window in a fresh shuffled order. Runs in this thread. For an mrff model the balance loss uses
// the previous epoch's routing shares, as the federated rounds use the previous round's.
import { ParamStore, PARTITIONS } from "../autograd/params.js";
import { Tape } from "../autograd/tape.js";
import type { Dataset } from "../data/dataset.js";
import { allocWindows, fillPhaseWindow, leaveOneOut, type LeaveOneOut, type Windows } from "../data/split.js";
import { Arena } from "../kernels/arena.js";
import type { BackendName } from "../kernels/backend.js";
import { loadWasmBackend } from "../kernels/wasm-backend.js";
import { createModel, schemaOf } from "../model/index.js";
import type { BatchInputs, Recommender } from "../model/types.js";
import { Adam, ADAM_DEFAULTS } from "../optim/adam.js";
import { lrMultiplier } from "../optim/schedule.js";
import { Rng } from "../util/rng.js";
import type { CheckpointArray, CheckpointEntry } from "./checkpoint.js";
import { sigmoid } from "./client.js";
import type { TrainConfig } from "./config.js";
import type { Engine, PhaseProgress, Predictions, RoundStats } from "./engine.js";
import { deriveSeed, Stream } from "./seed.js";
import { loadData } from "./source.js";

/** Arena chunk in elements (64 MB). */
const ARENA_CHUNK = 1 << 24;

export class CentralEngine implements Engine {
  readonly workers = 1;
  readonly kernels: BackendName;
  readonly params: { shared: number; group: number; private: number };
  private readonly tape: Tape;
  private readonly adam: Adam;
  private groupShare: Float64Array | null = null;
  /**
   * Windows by row count, always maxlen long: a batch of 64 random users nearly always holds one
   * full-length history, and equal shapes let the arena reuse its chunks step after step (trimmed
   * windows of varying length grew it to 3× its peak use on KuaiSAR-R).
   */
  private readonly windows = new Map<number, Windows>();
  private readonly evalRng = new Rng(0);

  private constructor(
    private readonly config: TrainConfig,
    readonly ds: Dataset,
    readonly split: LeaveOneOut,
    private readonly model: Recommender,
    private readonly store: ParamStore,
  ) {
    // chunks the size of a step's activations: steps differ a little in size (the number of
    // scored slots), and with the default small chunks the arena kept appending chunks (313 MB
    // reserved for a peak use of 87 MB over an epoch of KuaiSAR-R)
    this.tape = new Tape(store.be, new Arena(store.be, ARENA_CHUNK));
    // ordinary training: the optimiser keeps its state across the run
    this.adam = new Adam(store, { ...ADAM_DEFAULTS, lr: config.local.lr, weightDecay: config.local.weightDecay });
    this.kernels = store.be.name;
    this.params = { shared: store.buffer("shared").size, group: store.buffer("group").size, private: store.buffer("private").size };
  }

  static async create(config: TrainConfig): Promise<CentralEngine> {
    const be = await loadWasmBackend();
    const ds = loadData(config.data);
    const model = createModel(config.model, schemaOf(ds));
    const store = new ParamStore(be, model.specs, new Rng(deriveSeed(config.seed, Stream.Init)));
    return new CentralEngine(config, ds, leaveOneOut(ds), model, store);
  }

  async trainRound(round: number, progress: PhaseProgress): Promise<RoundStats> {
    const n = this.ds.numUsers;
    const order = shuffled(n, new Rng(deriveSeed(this.config.seed, Stream.Shuffle, round)));
    const { blocks: L, groups: K } = this.model.config;
    const mrff = this.params.group > 0;
    const routeCount = new Float64Array(mrff ? L * K : 0);
    const B = this.config.batchSize;
    let loss = 0;
    let batches = 0;
    // an epoch's steps share the round's multiplier (the schedule is over rounds, as federated)
    this.adam.lrScale = lrMultiplier(this.config.local.lrSchedule, round);
    progress(0, n);
    this.tape.recording = true;
    for (let at = 0; at < n; at += B) {
      const users = order.subarray(at, Math.min(n, at + B));
      const batch = this.batchOf(users, "train");
      this.store.zeroGrads();
      const rng = new Rng(deriveSeed(this.config.seed, Stream.Dropout, round, at / B));
      const out = this.model.forward(this.tape, this.store, batch, { train: true, rng, groupShare: this.groupShare ?? undefined });
      loss += this.store.be.f[out.loss.offset]!;
      batches++;
      if (mrff) for (let j = 0; j < users.length * L; j++) routeCount[(j % L) * K + out.routes[j]!]++;
      this.tape.backward(out.loss);
      this.adam.step();
      this.tape.reset();
      progress(at + users.length, n);
      // let timers and signal handlers run between steps (progress display, Ctrl-C)
      await new Promise((resolve) => setImmediate(resolve));
    }
    const groupShare = routeCount.map((c) => c / n);
    if (mrff) this.groupShare = groupShare;
    return { clients: n, loss: loss / batches, groupShare };
  }

  async evaluate(progress: PhaseProgress): Promise<Predictions> {
    const n = this.ds.numUsers;
    const L = this.model.config.blocks;
    const out: Predictions = { valid: new Float64Array(n), test: new Float64Array(n), routes: new Int32Array(n * L) };
    const B = this.config.batchSize;
    progress(0, n);
    this.tape.recording = false;
    for (let at = 0; at < n; at += B) {
      const users = Int32Array.from({ length: Math.min(B, n - at) }, (_, j) => at + j);
      const batch = this.batchOf(users, "eval");
      const r = this.model.forward(this.tape, this.store, batch, { train: false, rng: this.evalRng });
      const T = batch.windows.maxlen;
      const f = this.store.be.f;
      users.forEach((u, j) => {
        // rows 2j (validation) and 2j + 1 (test), each scored at its last slot
        out.valid[u] = sigmoid(f[r.logits.offset + (2 * j + 1) * T - 1]!);
        out.test[u] = sigmoid(f[r.logits.offset + (2 * j + 2) * T - 1]!);
        out.routes.set(r.routes.subarray(2 * j * L, (2 * j + 1) * L), u * L);
      });
      this.tape.reset();
      progress(at + users.length, n);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return out;
  }

  save(): Record<string, CheckpointArray> {
    const f = this.store.be.f;
    const values = new Float32Array(this.params.shared + this.params.group + this.params.private);
    let at = 0;
    for (const p of PARTITIONS) {
      const b = this.store.buffer(p);
      values.set(f.subarray(b.values, b.values + b.size), at);
      at += b.size;
    }
    const adam = this.adam.save();
    return { values, adamMoments: adam.moments, adamSteps: Int32Array.of(adam.steps), groupShare: this.groupShare ?? new Float64Array(0) };
  }

  restore(arrays: Record<string, CheckpointEntry>): void {
    const { values, adamMoments, adamSteps, groupShare } = arrays;
    const size = this.params.shared + this.params.group + this.params.private;
    if (!(values instanceof Float32Array) || values.length !== size) throw new Error(`checkpoint: 'values' does not match the model (${size} values)`);
    if (!(adamMoments instanceof Float32Array) || !(adamSteps instanceof Int32Array) || !(groupShare instanceof Float64Array)) {
      throw new Error("checkpoint: the optimiser state or the routing shares are missing");
    }
    const f = this.store.be.f;
    let at = 0;
    for (const p of PARTITIONS) {
      const b = this.store.buffer(p);
      f.set(values.subarray(at, at + b.size), b.values);
      at += b.size;
    }
    this.adam.load({ steps: adamSteps[0]!, moments: adamMoments });
    this.groupShare = groupShare.length > 0 ? groupShare : null;
  }

  async close(): Promise<void> {}

  /** Training windows of `users` (one row each), or their validation and test windows (two rows each). */
  private batchOf(users: Int32Array, kind: "train" | "eval"): BatchInputs {
    const rows = kind === "train" ? users.length : 2 * users.length;
    let w = this.windows.get(rows);
    if (!w) this.windows.set(rows, (w = allocWindows(rows, this.model.config.maxlen)));
    const rowUsers = new Int32Array(rows);
    users.forEach((u, j) => {
      if (kind === "train") {
        fillPhaseWindow(this.ds, this.split, u, "train", w, j);
        rowUsers[j] = u;
      } else {
        fillPhaseWindow(this.ds, this.split, u, "valid", w, 2 * j);
        fillPhaseWindow(this.ds, this.split, u, "test", w, 2 * j + 1);
        rowUsers[2 * j] = rowUsers[2 * j + 1] = u;
      }
    });
    return { windows: w, users: rowUsers, itemFeatures: this.ds.itemFeatures, userFeatures: this.ds.userFeatures };
  }
}

function shuffled(n: number, rng: Rng): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
