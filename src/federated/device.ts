// The inference path a product calls on a device: the model's settings, the global parameters of
// the last round and this user's private ones are all a device needs to score items for its user.
import { ParamStore, PARTITIONS, type Partition } from "../autograd/params.js";
import { Tape } from "../autograd/tape.js";
import { Arena } from "../kernels/arena.js";
import type { Backend } from "../kernels/backend.js";
import { loadWasmBackend } from "../kernels/wasm-backend.js";
import { createModel, scoreItems, type ScoreRequest, type SequenceModel } from "../model/index.js";
import type { ModelConfig, Schema } from "../model/types.js";
import { Rng } from "../util/rng.js";
import { regimeSpecs } from "./regime.js";
import type { RunCheckpoint } from "./trainer.js";

export interface DeviceState {
  model: ModelConfig;
  schema: Schema;
  /** Local training's layout: every parameter in the private partition. */
  allPrivate: boolean;
  /** The values of each partition, laid out as a ParamStore lays out the model's specs. */
  values: Record<Partition, Float32Array>;
}

/**
 * What user u's device holds after the checkpointed round (a copy: the checkpoint is not kept; of
 * every client's private values only u's are read).
 */
export function deviceState(ck: RunCheckpoint, user: number): DeviceState {
  const { config, schema, params: sizes } = ck.header;
  const allPrivate = config.regime === "local";
  const { global, privates, values } = ck.arrays;
  if (config.regime === "central") {
    // one model for everybody: the partitions one after the other
    if (!(values instanceof Float32Array)) throw new Error("checkpoint: 'values' missing");
    const at = { shared: 0, group: sizes.shared, private: sizes.shared + sizes.group };
    const slice = (p: Partition) => values.slice(at[p], at[p] + sizes[p]);
    return { model: config.model, schema, allPrivate, values: { shared: slice("shared"), group: slice("group"), private: slice("private") } };
  }
  // (no value import of checkpoint.ts, which is Node-only: a typed array is loaded, else an ArraySource)
  if (!(global instanceof Float32Array) || privates === undefined || (ArrayBuffer.isView(privates) ? !(privates instanceof Float32Array) : privates.dtype !== "f32")) {
    throw new Error("checkpoint: 'global' or 'privates' missing");
  }
  const users = privates.length / Math.max(1, sizes.private);
  if (!(Number.isInteger(user) && user >= 0 && user < users)) throw new RangeError(`deviceState: no user ${user} (the run has ${users})`);
  const own = new Float32Array(sizes.private);
  if (ArrayBuffer.isView(privates)) own.set(privates.subarray(user * sizes.private, (user + 1) * sizes.private));
  else privates.read(new Uint8Array(own.buffer), 4 * user * sizes.private);
  return {
    model: config.model,
    schema,
    allPrivate,
    values: {
      shared: global.slice(0, sizes.shared),
      group: global.slice(sizes.shared, sizes.shared + sizes.group),
      private: own,
    },
  };
}

/** Scores items for one user with its DeviceState. */
export class DeviceScorer {
  private constructor(
    private readonly model: SequenceModel,
    private readonly store: ParamStore,
    private readonly tape: Tape,
  ) {}

  /** Loads the kernels (unless a backend is given) and the state's values. */
  static async create(state: DeviceState, be?: Backend): Promise<DeviceScorer> {
    const backend = be ?? (await loadWasmBackend());
    const model = createModel(state.model, state.schema);
    // initial values are overwritten at once; any seed will do
    const store = new ParamStore(backend, regimeSpecs(model, state.allPrivate), new Rng(0));
    const scorer = new DeviceScorer(model, store, new Tape(backend, new Arena(backend)));
    for (const p of PARTITIONS) scorer.load(p, state.values[p]);
    return scorer;
  }

  /** Replaces one partition's values (a device serving another profile; a bench scoring many users). */
  load(p: Partition, values: Float32Array): void {
    const b = this.store.buffer(p);
    if (values.length !== b.size) throw new RangeError(`DeviceScorer: ${values.length} ${p} values, the model has ${b.size}`);
    this.store.be.f.set(values, b.values);
  }

  /** Click probability of each candidate after the user's history (see ScoreRequest). */
  score(req: ScoreRequest): Float64Array {
    return scoreItems(this.model, this.tape, this.store, req);
  }

  dispose(): void {
    this.tape.arena.dispose();
    this.store.dispose();
  }
}
