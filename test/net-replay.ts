// Replays a networked run in-process from what the coordinator recorded (the ids whose updates each
// round aggregated) with the code both sides run: each device's round (RoundTrainer), its update
// frame, the coordinator's reading of it (readUpdate) and aggregation (Aggregator.addDelta in
// client-id order, ServerOptimizer). With the same SIMD level the result must equal the
// coordinator's model bit for bit.
import { ParamStore } from "../src/autograd/params.js";
import type { Dataset } from "../src/data/dataset.js";
import type { Backend } from "../src/kernels/backend.js";
import { createModel, schemaOf } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";
import { Aggregator } from "../src/federated/aggregate.js";
import type { TrainConfig } from "../src/federated/config.js";
import { readUpdate } from "../src/federated/coordinator/update.js";
import { RoundTrainer } from "../src/federated/net-client/round-trainer.js";
import type { Residuals } from "../src/federated/net-client/state.js";
import { encodeUpdate, RAW, type UpdateCompression } from "../src/federated/net-client/update-frame.js";
import { deriveSeed, Stream } from "../src/federated/seed.js";
import { ServerOptimizer } from "../src/federated/server-opt.js";
import { decodeFrame } from "../src/federated/wire/index.js";

export interface ReplayInput {
  config: TrainConfig;
  ds: Dataset;
  /** Every aggregated round in order, with the ids its aggregate holds. */
  history: readonly { round: number; accepted: readonly number[] }[];
  /** Dataset user index of a client id. */
  userOf: (client: number) => number;
  be: Backend;
  compression?: UpdateCompression;
}

export function replay(r: ReplayInput): Float32Array {
  const { config, ds, be } = r;
  const trainer = RoundTrainer.create({ model: config.model, local: config.local, seed: config.seed }, ds, be);
  const { shared: S, group: G } = trainer.sizes;
  // the coordinator's initial values: the run seed's Init stream over the model's specs
  const init = new ParamStore(be, createModel(config.model, schemaOf(ds)).specs, new Rng(deriveSeed(config.seed, Stream.Init)));
  const global = new Float32Array(S + G);
  global.set(be.f.subarray(init.buffer("shared").values, init.buffer("shared").values + S), 0);
  global.set(be.f.subarray(init.buffer("group").values, init.buffer("group").values + G), S);
  init.dispose();
  const aggregator = new Aggregator(S, G, trainer.layout);
  const server = new ServerOptimizer(S + G, config.server);
  const shape = { sharedSize: S, blocks: config.model.blocks, layout: trainer.layout };
  const devices = new Map<number, { private: Float32Array; residuals: Residuals }>();
  let groupShare: Float64Array | null = null;
  let expect = r.history[0]?.round ?? 0;
  for (const { round, accepted } of r.history) {
    if (round !== expect) throw new Error(`replay: round ${round} follows round ${expect - 1}`);
    expect++;
    // as the task frame carries them: f32
    const task = { round, shared: global.slice(0, S), group: global.slice(S), groupShare: groupShare && Float64Array.from(Float32Array.from(groupShare)) };
    for (const id of [...accepted].sort((a, b) => a - b)) {
      const u = r.userOf(id);
      const dev = devices.get(u) ?? { private: trainer.initialPrivate(), residuals: {} };
      const out = trainer.train(u, task, dev.private);
      const bytes = encodeUpdate(out, r.compression ?? RAW, dev.residuals, trainer.backend);
      aggregator.addDelta(readUpdate(decodeFrame(bytes), shape, config.weighting));
      devices.set(u, { private: out.private, residuals: dev.residuals });
    }
    const totals = aggregator.finish(global, 0, server);
    if (trainer.layout) groupShare = totals.groupShare;
  }
  return global;
}
