// A device's work in one networked round, as a pure function of (the task's values, the user's own
// private values, the user's data, the round, the run seed): load them into a ParamStore, train
// with the same LocalTrainer the in-process engine uses, and return what leaves the device (the
// shared delta, the chosen expert's delta at each block, routes, samples, loss) and the new private
// values. The dropout stream is the in-process one, deriveSeed(seed, Dropout, round, user), so a
// replay of the accepted updates (or the in-process engine on the same participants) gives the
// same numbers bit for bit at the same SIMD level.
import { ParamStore } from "../../autograd/params.js";
import { rawIdIndex, type Dataset } from "../../data/dataset.js";
import { dataSchemaOf, type DataSchema } from "../../data/schema.js";
import { leaveOneOut, type LeaveOneOut } from "../../data/split.js";
import type { Backend } from "../../kernels/backend.js";
import { createModel } from "../../model/build.js";
import { schemaOf } from "../../model/schema.js";
import type { ModelConfig, Recommender } from "../../model/types.js";
import { Rng } from "../../util/rng.js";
import { groupLayout, type GroupLayout } from "../aggregate.js";
import { LocalTrainer, type LocalOptions } from "../client.js";
import { historyStart, startFromHistory, type HistoryStart } from "../private-training.js";
import { deriveSeed, Stream } from "../seed.js";

/** What a coordinator tells its clients about the run (the numbers-deciding part of its config). */
export interface RunSettings {
  model: ModelConfig;
  local: LocalOptions;
  seed: number;
}

/** The global values of a round, as a task carries them. */
export interface TaskValues {
  round: number;
  shared: Float32Array;
  group: Float32Array;
  /** Last round's n_k/N per (block, group); null before the first aggregate (no balance loss). */
  groupShare: Float64Array | null;
}

/** The delta of expert (block, group): trained − task values of its slice of the group partition. */
export interface ExpertDelta {
  block: number;
  group: number;
  delta: Float32Array;
}

export interface RoundOutput {
  round: number;
  /** Trained − task values of the whole shared partition. */
  shared: Float32Array;
  /** One per block: the expert chosen there (none without a group partition). */
  experts: ExpertDelta[];
  routes: Int32Array;
  samples: number;
  loss: number;
  /** The user's private values after training (kept on the device, never sent). */
  private: Float32Array;
}

export interface PartitionSizes {
  shared: number;
  group: number;
  private: number;
}

/** Throws unless the client's data has the fields (names and cardinalities) the coordinator's model is built for. */
export function checkSchema(mine: DataSchema, theirs: DataSchema): void {
  for (const kind of ["userFields", "itemFields"] as const) {
    const show = (s: DataSchema) => s[kind].map((f) => `${f.name}:${f.cardinality}`).join(", ");
    const a = mine[kind];
    const b = theirs[kind];
    if (a.length !== b.length || a.some((f, i) => f.name !== b[i]!.name || f.cardinality !== b[i]!.cardinality)) {
      throw new Error(`schema mismatch: the local data's ${kind} are [${show(mine)}], the coordinator's model expects [${show(theirs)}]`);
    }
  }
}

export class RoundTrainer {
  readonly sizes: PartitionSizes;
  /** The run's generic initial private values (the seed's Init stream), before any user's own. */
  private readonly initial: Float32Array;
  /** Where the click-rate option puts a user's own starting values; null: every user starts at `initial`. */
  private readonly ownStart: HistoryStart | null;

  private constructor(
    readonly settings: RunSettings,
    readonly ds: Dataset,
    private readonly split: LeaveOneOut,
    readonly model: Recommender,
    private readonly store: ParamStore,
    private readonly trainer: LocalTrainer,
    readonly layout: GroupLayout | null,
  ) {
    const b = (p: "shared" | "group" | "private") => store.buffer(p);
    this.sizes = { shared: b("shared").size, group: b("group").size, private: b("private").size };
    this.initial = store.be.f.slice(b("private").values, b("private").values + this.sizes.private) as Float32Array;
    this.ownStart = historyStart(settings.model, settings.local.private, store);
  }

  /**
   * Builds the model for `ds` (checked against the coordinator's schema when given) and its store,
   * initialised as the coordinator initialises it (the run seed's Init stream).
   */
  static create(settings: RunSettings, ds: Dataset, be: Backend, schema?: DataSchema): RoundTrainer {
    if (schema) checkSchema(dataSchemaOf(ds), schema);
    const model = createModel(settings.model, schemaOf(ds));
    const store = new ParamStore(be, model.specs, new Rng(deriveSeed(settings.seed, Stream.Init)));
    const split = leaveOneOut(ds);
    const trainer = new LocalTrainer(model, store, ds, split, settings.local);
    return new RoundTrainer(settings, ds, split, model, store, trainer, groupLayout(model, store));
  }

  /** The kernels the trainer runs on (compression can use them too). */
  get backend(): Backend {
    return this.store.be;
  }

  /**
   * Dataset user u's private values before its first round, as the in-process engine starts it:
   * the run's initial values, with the click-rate option its user bias and personal table from its
   * own training history (startFromHistory). A new array each call.
   */
  initialPrivate(u: number): Float32Array {
    this.checkUser(u);
    const values = this.initial.slice();
    if (this.ownStart) startFromHistory(this.ownStart, this.ds, this.split, u, values);
    return values;
  }

  /** Dataset index of the user whose raw id is `id`, or a RangeError naming it. */
  userIndex(id: number): number {
    const ids = this.ds.userIds;
    const u = rawIdIndex(ids, id);
    if (u >= 0) return u;
    throw new RangeError(`user ${id} is not in the data (${ids.length} users, ids ${ids[0]}..${ids[ids.length - 1]})`);
  }

  /** Trains dataset user `u` on `task` from its private values `priv` (left unchanged). */
  train(u: number, task: TaskValues, priv: Float32Array): RoundOutput {
    const { shared: S, group: G, private: P } = this.sizes;
    if (task.shared.length !== S) throw new RangeError(`task: shared has ${task.shared.length} values, the model has ${S}`);
    if (task.group.length !== G) throw new RangeError(`task: group has ${task.group.length} values, the model has ${G}`);
    if (priv.length !== P) throw new RangeError(`private state has ${priv.length} values, the model has ${P}`);
    this.checkUser(u);
    const f = this.store.be.f;
    const shared = this.store.buffer("shared").values;
    const group = this.store.buffer("group").values;
    const privOff = this.store.buffer("private").values;
    f.set(task.shared, shared);
    f.set(task.group, group);
    f.set(priv, privOff);
    // the coordinator counts rounds from 0, the lr schedule from 1 (the in-process trainer's count)
    const upd = this.trainer.train(u, task.round + 1, new Rng(deriveSeed(this.settings.seed, Stream.Dropout, task.round, u)), task.groupShare ?? undefined);
    // re-read the view: training may have grown the backend's memory
    const g = this.store.be.f;
    const experts: ExpertDelta[] = [];
    const lay = this.layout;
    if (lay) {
      for (let l = 0; l < lay.blocks; l++) {
        const k = upd.routes[l]!;
        const cell = l * lay.groups + k;
        const start = lay.start[cell]!;
        experts.push({ block: l, group: k, delta: difference(g.subarray(group + start, group + start + lay.size[cell]!), task.group.subarray(start, start + lay.size[cell]!)) });
      }
    }
    return {
      round: task.round,
      shared: difference(g.subarray(shared, shared + S), task.shared),
      experts,
      routes: upd.routes,
      samples: upd.samples,
      loss: upd.loss,
      private: g.slice(privOff, privOff + P) as Float32Array,
    };
  }

  private checkUser(u: number): void {
    if (!(Number.isInteger(u) && u >= 0 && u < this.ds.numUsers)) throw new RangeError(`user index ${u} is not in [0, ${this.ds.numUsers})`);
  }
}

/** a − b in f32 (the f64 difference of two f32 values rounds to the IEEE f32 difference). */
function difference(a: ArrayLike<number>, b: Float32Array): Float32Array {
  const out = new Float32Array(b.length);
  for (let j = 0; j < b.length; j++) out[j] = a[j]! - b[j]!;
  return out;
}
