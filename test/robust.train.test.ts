// Robust aggregation inside training, on small synthetic data: a robust rule gives bit-identical
// runs for any worker count, the default (and an explicit mean) keeps the chunk-sum path, the
// per-client delta path with the mean agrees with it, a poisoned update is rejected naming its
// client, and the command line maps onto the config.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkConfig, defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { FederatedEngine, type EngineHooks } from "../src/federated/federated-engine.js";
import { train } from "../src/federated/trainer.js";
import type { AggregatorConfig } from "../src/federated/robust/rules.js";
import { configFromArgs, parseTrainArgs } from "../src/cli/train-options.js";

function tiny(aggregator?: AggregatorConfig): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 40, items: 200, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 12, fieldDim: 4, groups: 2, mlp: [8] };
  c.rounds = 2;
  c.chunk = 7;
  c.bootstrap = 20;
  if (aggregator) c.aggregator = aggregator;
  return c;
}

const robust: AggregatorConfig = { shared: "median", group: "trimmed", trim: 0.2, bound: "median" };

test("a robust rule gives bit-identical numbers for 0 and 2 workers", async () => {
  const a = await train(tiny(robust), { workers: 0 });
  const b = await train(tiny(robust), { workers: 2 });
  const rows = (r: typeof a) => r.report.rounds.map(({ seconds: _s, ...rest }) => rest);
  assert.equal(rows(b), rows(a));
  assert.equal(b.predictions, a.predictions);
  // and it trains something other than the mean
  const mean = await train(tiny(), { workers: 0 });
  assert.not.equal(mean.predictions!.test, a.predictions!.test);
});

test("foolsgold (trust from the shared rows, reused by the experts) rlr and consensus are bit-identical for 0 and 2 workers", async () => {
  for (const kind of ["foolsgold", "rlr", "consensus"] as const) {
    const cfg: AggregatorConfig = { shared: kind, group: kind, trim: 0.1, bound: "median", agree: 0.3 };
    const a = await train(tiny(cfg), { workers: 0 });
    const b = await train(tiny(cfg), { workers: 2 });
    assert.equal(b.predictions, a.predictions, kind);
    for (const p of a.predictions!.test) assert.ok(Number.isFinite(p), `${kind} prediction ${p}`);
  }
});

test("an explicit mean is the default chunk-sum path, bit for bit", async () => {
  const a = await train(tiny(), { workers: 0 });
  const b = await train(tiny({ ...robust, shared: "mean", group: "mean" }), { workers: 0 });
  assert.equal(b.predictions, a.predictions);
});

async function oneRound(hooks?: EngineHooks, aggregator?: AggregatorConfig): Promise<Float32Array> {
  const e = await FederatedEngine.create(tiny(aggregator), 0, hooks);
  try {
    await e.trainRound(1, () => {});
    return Float32Array.from(e.save().global as Float32Array);
  } finally {
    await e.close();
  }
}

test("the per-client delta path with the mean agrees with the chunk sums (to f32 rounding)", async () => {
  const seen: number[] = [];
  const sums = await oneRound();
  const deltas = await oneRound({ onDeltas: (d) => seen.push(...d.clients) });
  assert.equal(seen, Array.from({ length: 40 }, (_, u) => u), "every client once, in client-id order");
  let worst = 0;
  sums.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - deltas[j]!))));
  assert.ok(worst <= 1e-5, `largest difference ${worst}`);
});

test("a non-finite update is rejected naming its client", async () => {
  const poison: EngineHooks = {
    onDeltas: (d) => {
      const i = d.clients.indexOf(9);
      if (i >= 0) d.deltas[(i * d.deltas.length) / d.clients.length] = NaN;
    },
  };
  for (const agg of [undefined, robust]) {
    try {
      await oneRound(poison, agg);
      assert.unreachable("trained");
    } catch (e) {
      assert.match(String(e), /client 9 sent a non-finite value/);
    }
  }
});

test("command line: --aggregator, --trim, --norm-bound and --agree, and what the config refuses", () => {
  const c = configFromArgs(parseTrainArgs(["--aggregator", "shared=normbound,group=median", "--norm-bound", "2.5"]));
  assert.equal(c.aggregator, { shared: "normbound", group: "median", trim: 0.1, bound: 2.5, agree: 0.3 });
  assert.equal(configFromArgs(parseTrainArgs(["--aggregator", "trimmed", "--trim", "0.2"])).aggregator, { shared: "trimmed", group: "trimmed", trim: 0.2, bound: "median", agree: 0.3 });
  assert.equal(configFromArgs(parseTrainArgs(["--aggregator", "rlr", "--agree", "0.15"])).aggregator, { shared: "rlr", group: "rlr", trim: 0.1, bound: "median", agree: 0.15 });
  assert.throws(() => configFromArgs(parseTrainArgs(["--agree", "0"])), /--agree must be a fraction in \(0, 1\]/);
  assert.is(configFromArgs(parseTrainArgs([])).aggregator, undefined);
  assert.throws(() => configFromArgs(parseTrainArgs(["--aggregator", "mode"])), /--aggregator: 'mode' is not one of/);
  assert.throws(() => configFromArgs(parseTrainArgs(["--trim", "0.5"])), /--trim must be a fraction in \[0, 0.5\)/);
  assert.throws(() => configFromArgs(parseTrainArgs(["--norm-bound", "0"])), /--norm-bound must be a positive number or 'median'/);
  const samples = configFromArgs(parseTrainArgs(["--aggregator", "median", "--weighting", "samples"]));
  assert.throws(() => checkConfig(samples), /aggregator.shared median counts every client once/);
  const central = configFromArgs(parseTrainArgs(["--model", "central", "--aggregator", "median"]));
  assert.throws(() => checkConfig(central), /regime central aggregates nothing/);
});

test.run();
