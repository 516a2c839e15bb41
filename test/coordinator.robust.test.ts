// Robust aggregation over the network (the coordinator's plain rounds through DeltaAggregator):
// real devices' rounds under median and under a per-tensor rule equal the in-process engine's robust
// aggregation of the same deltas bit for bit (net-replay.ts); one hostile device sending 1e6 on every
// value moves the median's model no further than the honest devices' own deltas reach, while it
// drags the mean's by ~1e6 / clients; a restart keeps the rule; what cannot combine is refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { configFromArgs, parseTrainArgs } from "../src/cli/train-options.js";
import type { TrainConfig } from "../src/federated/config.js";
import { Coordinator, type CoordinatorOptions } from "../src/federated/coordinator/coordinator.js";
import { startCoordinator } from "../src/federated/coordinator/http.js";
import { loadState } from "../src/federated/coordinator/state.js";
import type { AggregatorConfig } from "../src/federated/robust/rules.js";
import { loadData } from "../src/federated/source.js";
import { encodeFrame } from "../src/federated/wire/index.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { deltaArrays, smallConfig, smallSchema, tempDir, updateFrame, updatePartitions, type UpdateValues } from "./coordinator-fixtures.js";
import { device } from "./net-device-fixtures.js";
import { replay } from "./net-replay.js";

const MEDIAN: AggregatorConfig = { shared: "median", group: "median", trim: 0.1, bound: "median", agree: 0.3 };
/** The prediction MLP's first layer by consensus, everything else norm-bounded (the bench's kind of defence). */
const TENSORS: AggregatorConfig = { shared: "normbound", group: "normbound", trim: 0.1, bound: "median", agree: 0.3, tensors: [{ pattern: "mlp.0", kind: "consensus" }] };

function withRule(aggregator: AggregatorConfig | undefined, rounds = 2): TrainConfig {
  const c = smallConfig(rounds);
  if (aggregator) c.aggregator = aggregator;
  return c;
}

test("devices over HTTP under median, and under normbound with mlp.0=consensus: the coordinator's model is the in-process robust aggregation's, bit for bit", async () => {
  const be = await loadWasmBackend();
  for (const aggregator of [MEDIAN, TENSORS]) {
    const config = withRule(aggregator);
    const t = tempDir();
    const lines: string[] = [];
    const running = await startCoordinator({ config, schema: smallSchema(config), stateDir: t.dir, minClients: 3, roundDeadlineMs: 30_000, log: (l) => lines.push(l) });
    try {
      const users = [0, 4, 9];
      const summaries = await Promise.all(users.map((u) => device(running.url, u, config).run()));
      for (const s of summaries) assert.ok(s.finished && s.accepted.length === 2, JSON.stringify(s));
      const userOf = new Map(summaries.map((s, i) => [s.client, users[i]!]));
      const saved = loadState(t.dir)!;
      assert.equal(saved.header.config.aggregator, aggregator, "the rule is in the checkpoint");
      assert.equal(saved.header.history.map((h) => h.accepted.length), [3, 3]);
      const base = { ds: loadData(config.data), history: saved.header.history, userOf: (id: number) => userOf.get(id)!, be };
      const global = replay({ ...base, config });
      assert.equal(saved.global, global, `${aggregator.shared}: the coordinator's model differs from the in-process robust aggregation`);
      // the check has teeth: the mean of the same devices gives another model
      assert.not.equal(replay({ ...base, config: withRule(undefined) }), global, `${aggregator.shared}: the rule made no difference`);
      assert.ok(lines.some((l) => l.startsWith(`robust aggregation: shared ${aggregator.shared}`)), "the rule is logged at start");
    } finally {
      await running.close();
      t.remove();
    }
  }
});

/** Honest device i's update: small deltas of alternating sign, experts routed so that each has several devices. */
function honest(i: number): UpdateValues {
  return { shared: (i % 2 ? -1 : 1) * 0.01 * (i + 1), expert: -0.02 * (i + 1), routes: [i % 2, 0], samples: 5, loss: 0.5 };
}

/** One round of six honest devices and one hostile one sending `value` as every delta value; the global values before and after. */
async function hostileRound(aggregator: AggregatorConfig | undefined, value = 1e6) {
  const config = withRule(aggregator, 1);
  const t = tempDir();
  try {
    const c = await Coordinator.create({ config, schema: smallSchema(config), stateDir: t.dir, minClients: 7, roundDeadlineMs: 60_000 });
    const regs = [];
    for (let i = 0; i < 7; i++) regs.push(await c.register());
    const before = c.globalValues();
    const shape = c.shape;
    for (let i = 0; i < 6; i++) c.submit(regs[i]!.client, regs[i]!.token, updateFrame(shape, 0, honest(i)));
    const huge = updatePartitions(shape, { shared: 0, expert: 0, routes: [0, 0], samples: 5, loss: 0.5 }).map((p) => (p.name === "routes" || p.name === "meta" ? p : { ...p, values: new Float32Array(p.length).fill(value) }));
    c.submit(regs[6]!.client, regs[6]!.token, encodeFrame({ type: "update", round: 0, partitions: huge }));
    assert.is(c.status().round, 1, "the round closed with the seven updates");
    return { before, after: c.globalValues(), shape };
  } finally {
    t.remove();
  }
}

test("one hostile device sending 1e6 on every value: under median every value moves within the honest devices' deltas there; under the mean by ~1e6/7", async () => {
  const { before, after, shape } = await hostileRound(MEDIAN);
  const S = shape.sharedSize;
  const lay = shape.layout!;
  const honestDeltas = Array.from({ length: 6 }, (_, i) => ({ v: honest(i), d: deltaArrays(shape, honest(i)) }));
  // the bound: a value moves by an amount within [min, max] of the honest deltas at that value (the
  // median of n values with fewer than n/2 outliers lies between honest ones), up to the f32
  // rounding of global + move
  const within = (at: number, deltas: number[], what: string) => {
    const lo = Math.min(...deltas);
    const hi = Math.max(...deltas);
    const eps = 2 ** -23 * (Math.abs(before[at]!) + Math.max(Math.abs(lo), Math.abs(hi)));
    const moved = after[at]! - before[at]!;
    if (!(moved >= lo - eps && moved <= hi + eps)) throw new Error(`${what}: moved ${moved}, outside the honest deltas [${lo}, ${hi}]`);
  };
  for (let j = 0; j < S; j++) within(j, honestDeltas.map((h) => h.d.shared[j]!), `shared[${j}]`);
  let experts = 0;
  for (let l = 0; l < lay.blocks; l++) {
    for (let k = 0; k < lay.groups; k++) {
      const cell = l * lay.groups + k;
      const routed = honestDeltas.filter((h) => h.v.routes[l] === k);
      const from = S + lay.start[cell]!;
      for (let j = 0; j < lay.size[cell]!; j++) {
        // every expert the hostile device chose (0 at each block) has at least three honest devices
        if (routed.length > 0) within(from + j, routed.map((h) => h.d.experts[l]![j]!), `expert (${l}, ${k})[${j}]`);
        else assert.is(after[from + j], before[from + j], "an expert nobody chose keeps its value");
      }
      if (routed.length > 0) experts++;
    }
  }
  assert.is(experts, 3, "block 0's experts 0 and 1 and block 1's expert 0 were trained");
  // ... while the mean follows the hostile device: 1e6 / 7 on every shared value, give or take the honest deltas
  const mean = await hostileRound(undefined);
  for (let j = 0; j < S; j++) assert.ok(mean.after[j]! - mean.before[j]! > 1e5, `mean: shared[${j}] moved only ${mean.after[j]! - mean.before[j]!}`);
});

test("every rule closes a round with a device at the largest f32 (3.4e38) in every value: no throw, a finite model", async () => {
  for (const kind of ["median", "trimmed", "normbound", "foolsgold", "rlr", "consensus"] as const) {
    const { after } = await hostileRound({ ...MEDIAN, shared: kind, group: kind }, 3.4028234663852886e38);
    assert.ok(after.every(Number.isFinite), `${kind}: a non-finite global value`);
  }
});

test("a restarted coordinator keeps the rule (its next round is still the median); a restart without it is refused; a state file without a rule still loads", async () => {
  const t = tempDir();
  try {
    const config = withRule(MEDIAN);
    const opts: CoordinatorOptions = { config, schema: smallSchema(config), stateDir: t.dir, minClients: 3, roundDeadlineMs: 60_000 };
    let c = await Coordinator.create(opts);
    const regs = [await c.register(), await c.register(), await c.register()];
    // offsets 1, 2, 7: at every value the second client's delta is the median and not the mean
    const values = (round: number) => [1, 2, 7].map((o, i): UpdateValues => ({ shared: 0.001 * o + 0.01 * round, expert: 0.002 * o, routes: [0, 1], samples: 3 + i, loss: 0.5 }));
    for (const [i, r] of regs.entries()) c.submit(r.client, r.token, updateFrame(c.shape, 0, values(0)[i]!));
    assert.is(c.status().round, 1);
    const withoutRule = { ...opts, config: withRule(undefined) };
    try {
      await Coordinator.create(withoutRule);
      assert.unreachable("a restart without the run's rule was accepted");
    } catch (e) {
      assert.match(String(e), /other settings \(aggregator\)/);
    }
    c = await Coordinator.create(opts);
    const before = c.globalValues();
    for (const [i, r] of regs.entries()) c.submit(r.client, r.token, updateFrame(c.shape, 1, values(1)[i]!));
    assert.is(c.status().round, 2);
    const middle = deltaArrays(c.shape, values(1)[1]!);
    const after = c.globalValues();
    for (let j = 0; j < c.shape.sharedSize; j++) assert.is(after[j], Math.fround(before[j]! + middle.shared[j]!), `shared[${j}] is not global + the median delta`);
    assert.equal(loadState(t.dir)!.header.config.aggregator, MEDIAN);
  } finally {
    t.remove();
  }
  // a run saved before robust rules existed has no aggregator in its settings: it loads as the mean
  const old = tempDir();
  try {
    const config = withRule(undefined);
    await Coordinator.create({ config, schema: smallSchema(config), stateDir: old.dir });
    assert.not.ok("aggregator" in loadState(old.dir)!.header.config);
    const again = await Coordinator.create({ config: { ...config, aggregator: undefined }, schema: smallSchema(config), stateDir: old.dir });
    assert.is(again.status().round, 0);
  } finally {
    old.remove();
  }
});

test("refused before anything is written: robust rules with secure aggregation, DP, touched averaging or samples weighting; a tensor pattern naming no parameter", async () => {
  const dp = configFromArgs(parseTrainArgs(["--dp-epsilon", "4", "--dp-delta", "1e-5"])).dp!;
  const cases: [string, (c: TrainConfig) => void, Partial<CoordinatorOptions>, RegExp][] = [
    ["secure aggregation", () => {}, { secure: { bound: 0.1 }, minClients: 3 }, /robust aggregators need each client's update, and secure aggregation reveals only the round's sum/],
    ["DP", (c) => (c.dp = dp), {}, /robust aggregator reads per-client deltas: it does not combine with differential privacy/],
    ["touched averaging", (c) => (c.averaging = "touched"), {}, /averaging touched applies to the plain mean/],
    ["median, samples", (c) => (c.weighting = "samples"), {}, /aggregator.shared median counts every client once: it cannot weight by samples/],
    ["normbound, samples", (c) => ((c.weighting = "samples"), (c.aggregator = TENSORS)), {}, /robust aggregator over the network weighs every client 1 .*weighting must be uniform, not samples/],
    ["pattern", (c) => (c.aggregator = { ...TENSORS, tensors: [{ pattern: "mlp.9", kind: "median" }] }), {}, /aggregator.tensors 'mlp.9' names no shared-partition parameter/],
  ];
  const t = tempDir();
  try {
    for (const [what, edit, extra, message] of cases) {
      const config = withRule(MEDIAN);
      edit(config);
      const stateDir = join(t.dir, what.replace(/\W+/g, "-"));
      let error: unknown = null;
      try {
        await Coordinator.create({ config, schema: smallSchema(config), stateDir, ...extra });
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof RangeError && message.test(error.message), `${what}: ${String(error)}`);
      assert.not.ok(existsSync(stateDir), `${what}: the state folder was created`);
    }
  } finally {
    t.remove();
  }
});

test.run();
