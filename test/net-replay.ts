// Replays a networked run in-process from what the coordinator recorded (the ids whose updates each
// round aggregated) with the code both sides run: each device's round (RoundTrainer), its update
// frame, the coordinator's reading of it (readUpdate) and aggregation (Aggregator.addDelta in
// client-id order, ServerOptimizer). Under a robust rule (config.aggregator not the plain mean) the
// round is aggregated as the in-process engine aggregates it instead: the devices' deltas packed into
// rows as its DeltaRecorder packs them, in chunks of config.chunk clients, through DeltaAggregator.
// With the same SIMD level the result must equal the coordinator's model bit for bit.
import { ParamStore } from "../src/autograd/params.js";
import type { Dataset } from "../src/data/dataset.js";
import type { Backend } from "../src/kernels/backend.js";
import { createModel, schemaOf } from "../src/model/index.js";
import { KeyedStream } from "../src/util/chacha20.js";
import { Rng } from "../src/util/rng.js";
import { Aggregator } from "../src/federated/aggregate.js";
import type { TrainConfig } from "../src/federated/config.js";
import { readUpdate } from "../src/federated/coordinator/update.js";
import { RoundTrainer } from "../src/federated/net-client/round-trainer.js";
import type { Residuals } from "../src/federated/net-client/state.js";
import { encodeUpdate, RAW, type UpdateCompression } from "../src/federated/net-client/update-frame.js";
import { deriveSeed, Stream } from "../src/federated/seed.js";
import { ServerOptimizer } from "../src/federated/server-opt.js";
import { packSecureUpdate, secureLength, unpackSecureSum } from "../src/federated/secagg/update-vector.js";
import { noisedSpec, noisedVector, quantiseNoised, releaseTopUp, unpackNoisedSum } from "../src/federated/secagg/noised-vector.js";
import type { NormalSource } from "../src/federated/dp-client.js";
import { DpAggregation } from "../src/federated/dp-aggregation.js";
import { samplingRate } from "../src/federated/dp-config.js";
import { decodeFrame } from "../src/federated/wire/index.js";
import { chunksOf } from "../src/federated/sample.js";
import { rowLayout, type DeltaChunk, type RowLayout } from "../src/federated/robust/client-deltas.js";
import { DeltaAggregator } from "../src/federated/robust/delta-aggregator.js";
import { isPlainMean } from "../src/federated/robust/rules.js";
import { resolveTensorRules } from "../src/federated/robust/tensor-rules.js";
import type { RoundOutput } from "../src/federated/net-client/round-trainer.js";

export interface ReplayInput {
  config: TrainConfig;
  ds: Dataset;
  /** Every aggregated round in order, with the ids its aggregate holds (and how many were selected). */
  history: readonly { round: number; accepted: readonly number[]; selected?: number }[];
  /** Dataset user index of a client id. */
  userOf: (client: number) => number;
  be: Backend;
  compression?: UpdateCompression;
  /**
   * Secure rounds: each device's update packed as its secure vector (clip bound, cohort = the
   * round's selected count), the vectors summed mod 2^32 (plain, no masks), and that sum unpacked
   * and applied; `onInput` sees every device's vector.
   */
  secure?: { bound: number; onInput?: (round: number, client: number, input: Uint32Array) => void; dp?: ReplayDp };
  /** A user's private values before its first round (default: the device's own start, RoundTrainer.initialPrivate). */
  initialPrivate?: (user: number) => Float32Array;
  /** Filled with each trained user's private values after its last replayed round, by dataset user index. */
  privates?: Map<number, Float32Array>;
}

/**
 * DP secure rounds (noise local): each device clips and noises its vector with its own normal
 * stream (the one the test gave the device), the sum is unpacked as noised sums and released by
 * DpAggregation as the coordinator's DpRound does (expected cohort q·N; the noise topped up for
 * the round's survivors from the coordinator's secret key, first attempts only).
 */
export interface ReplayDp {
  /** The round's threshold T (the devices' noise is σC/√T). */
  threshold: number;
  /** The coordinator's secret key (its top-up noise is that key's stream). */
  secretKey: readonly number[];
  /** N: clients registered when each round opened. */
  population: number;
  /** The device's noise draws, by dataset user index (one stream per device across rounds). */
  normalOf: (user: number) => NormalSource;
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
  const units = resolveTensorRules(config.aggregator?.tensors ?? [], init.names("shared").map((n) => init.slice(n)));
  init.dispose();
  const aggregator = new Aggregator(S, G, trainer.layout);
  const rows = rowLayout(S, trainer.layout);
  const robust = isPlainMean(config.aggregator) ? null : new DeltaAggregator(config.aggregator!, rows, trainer.layout, G, units, be);
  const server = new ServerOptimizer(S + G, config.server);
  const shape = { sharedSize: S, blocks: config.model.blocks, layout: trainer.layout };
  const devices = new Map<number, { private: Float32Array; residuals: Residuals }>();
  let groupShare: Float64Array | null = null;
  let expect = r.history[0]?.round ?? 0;
  for (const { round, accepted, selected } of r.history) {
    if (round !== expect) throw new Error(`replay: round ${round} follows round ${expect - 1}`);
    expect++;
    // as the task frame carries them: f32
    const task = { round, shared: global.slice(0, S), group: global.slice(S), groupShare: groupShare && Float64Array.from(Float32Array.from(groupShare)) };
    const layout = { shared: S, group: G, experts: trainer.layout };
    const spec = { bound: Math.fround(r.secure?.bound ?? 1), clients: selected ?? accepted.length };
    const sum = new Uint32Array(r.secure ? secureLength(layout) : 0);
    const dp = r.secure?.dp;
    const dpSettings = config.dp;
    const noised = dp && dpSettings ? noisedSpec(dpSettings, dp.threshold, trainer.layout?.blocks ?? 0, spec.clients) : null;
    const outputs = new Map<number, RoundOutput>();
    for (const id of [...accepted].sort((a, b) => a - b)) {
      const u = r.userOf(id);
      const dev = devices.get(u) ?? { private: r.initialPrivate?.(u) ?? trainer.initialPrivate(u), residuals: {} };
      const out = trainer.train(u, task, dev.private);
      if (r.secure) {
        const update = { ...out, experts: out.experts.map((e) => e.delta) };
        const input = noised ? quantiseNoised(noisedVector(update, layout, dpSettings!, noised, dp!.normalOf(u)), layout, noised) : packSecureUpdate(update, layout, spec);
        r.secure.onInput?.(round, id, input);
        for (let j = 0; j < sum.length; j++) sum[j] = sum[j]! + input[j]!;
      } else if (robust) {
        outputs.set(id, out);
      } else {
        const bytes = encodeUpdate(out, r.compression ?? RAW, dev.residuals, trainer.backend);
        aggregator.addDelta(readUpdate(decodeFrame(bytes), shape, config.weighting), config.averaging === "touched");
      }
      devices.set(u, { private: out.private, residuals: dev.residuals });
    }
    if (r.secure) aggregator.addSum(noised ? unpackNoisedSum(sum, layout, noised, accepted.length) : unpackSecureSum(sum, layout, spec, accepted.length));
    const release =
      dp && dpSettings
        ? (total: Float64Array, counts: Float64Array, clients: number) =>
            new DpAggregation(dpSettings, { noise: new KeyedStream(dp.secretKey, [Stream.CentralNoise, round, 0]), population: dp.population, rate: samplingRate(config.participation), sharedSize: S, groupSize: G, layout: trainer.layout, topUp: releaseTopUp(clients, dp.threshold) }).release(round, total, counts, clients, global)
        : undefined;
    const totals = robust ? finishRobust(robust, rows, outputs, config, global, server) : aggregator.finish(global, 0, server, release);
    if (trainer.layout) groupShare = totals.groupShare;
  }
  for (const [u, d] of devices) r.privates?.set(u, d.private);
  return global;
}

/** The round's devices' deltas as the in-process engine's delta chunks (client-id order, config.chunk a chunk), through DeltaAggregator. */
function finishRobust(robust: DeltaAggregator, R: RowLayout, outputs: Map<number, RoundOutput>, config: TrainConfig, global: Float32Array, server: ServerOptimizer) {
  const blocks = R.blockStart.length;
  const chunks = chunksOf(Int32Array.from([...outputs.keys()].sort((a, b) => a - b)), config.chunk);
  chunks.forEach((clients, chunk) => {
    const d: DeltaChunk = { chunk, clients, deltas: new Float32Array(clients.length * R.length), routes: new Int32Array(clients.length * blocks), weights: new Float64Array(clients.length), loss: 0, samples: 0, bytesUp: 0 };
    clients.forEach((id, i) => {
      const out = outputs.get(id)!;
      d.deltas.set(out.shared, i * R.length);
      for (const e of out.experts) d.deltas.set(e.delta, i * R.length + R.blockStart[e.block]!);
      d.routes.set(out.routes.subarray(0, blocks), i * blocks);
      d.weights[i] = config.weighting === "samples" ? out.samples : 1;
      d.loss += out.loss;
      d.samples += out.samples;
    });
    robust.add(d);
  });
  return robust.finish(global, chunks.length, server);
}
