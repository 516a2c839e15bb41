// DP-FedAvg: a client's update is clipped to C jointly over the shared partition and its chosen
// experts (and, in local mode, noised everywhere by the client); the coordinator's release adds
// N(0, σ²C²) reproducibly, divides by the expected cohort, and composes the accountant; Poisson
// sampling; and end to end on synthetic data: any worker count gives the same numbers, a resumed run
// equals an uninterrupted one, ε is reported per round and the budget is never exceeded.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constantInit } from "../src/autograd/init.js";
import { ParamStore, type ParamSpec } from "../src/autograd/params.js";
import { groupLayout } from "../src/federated/aggregate.js";
import { checkConfig, defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { DpAggregation } from "../src/federated/dp-aggregation.js";
import { DpClient } from "../src/federated/dp-client.js";
import { accountedNoise, planDp, poissonSample, type DpConfig } from "../src/federated/dp-config.js";
import { readRunCheckpoint, resumeTraining, train, REPORT_JSON, type RoundRow } from "../src/federated/trainer.js";
import { loadArray } from "../src/federated/checkpoint.js";
import type { Recommender } from "../src/model/types.js";
import { epsilonOf } from "../src/privacy/rdp.js";
import { Rng } from "../src/util/rng.js";
import { wasmBackends } from "./helpers.js";

const L = 2;
const K = 3;
const EXPERT = 5;

function fakeModel(): Recommender {
  return { config: { blocks: L, groups: K }, groupParam: (l: number, k: number) => `g${l}.${k}` } as unknown as Recommender;
}

function specs(): ParamSpec[] {
  const experts = Array.from({ length: L * K }, (_, j): ParamSpec => ({ name: `g${Math.floor(j / K)}.${j % K}`, partition: "group", shape: [EXPERT], init: constantInit(0) }));
  return [{ name: "w", partition: "shared", shape: [9], init: constantInit(0) }, ...experts, { name: "user", partition: "private", shape: [4], init: constantInit(0) }];
}

const DP: DpConfig = { epsilon: 5, delta: 1e-5, clip: 1.5, noise: "central", noiseMultiplier: 0.8 };

async function setup() {
  const [be] = await wasmBackends();
  const store = new ParamStore(be!, specs(), new Rng(1));
  const layout = groupLayout(fakeModel(), store)!;
  const S = store.buffer("shared").size;
  const G = store.buffer("group").size;
  const global = be!.alloc(S + G);
  return { be: be!, store, layout, S, G, global };
}

const vec = (n: number, scale: number) => fc.array(fc.double({ min: -scale, max: scale, noNaN: true }), { minLength: n, maxLength: n });

test("a client's update is clipped to C jointly over shared and chosen experts, direction kept (property, 1e-5)", async () => {
  const { be, store, layout, S, G, global } = await setup();
  const f = be.f;
  const sh = store.buffer("shared").values;
  const gr = store.buffer("group").values;
  const client = new DpClient(DP, store, layout, 7);
  fc.assert(
    fc.property(vec(S + G, 3), vec(S + G, 3), fc.integer({ min: 0, max: K - 1 }), fc.integer({ min: 0, max: K - 1 }), fc.constantFrom(1e-3, 1, 100), (g, t, k0, k1, mag) => {
      f.set(g, global);
      const trained = t.map((v, j) => g[j]! + v * mag);
      f.set(trained.slice(0, S), sh);
      f.set(trained.slice(S), gr);
      const routes = [k0, k1];
      const chosen = new Set([k0, K + k1]);
      const inChosen = (j: number) => j < S || [...chosen].some((c) => j - S >= layout.start[c]! && j - S < layout.start[c]! + layout.size[c]!);
      let sq = 0;
      for (let j = 0; j < S + G; j++) if (inChosen(j)) sq += (trained[j]! - g[j]!) ** 2;
      const norm = client.prepare(global, 3, 1, routes);
      assert.ok(Math.abs(norm - Math.sqrt(sq)) <= 1e-5 * Math.max(1, Math.sqrt(sq)), `norm ${norm} vs ${Math.sqrt(sq)}`);
      const factor = Math.min(1, DP.clip / Math.sqrt(sq));
      let out = 0;
      for (let j = 0; j < S + G; j++) {
        const got = j < S ? f[sh + j]! : f[gr + j - S]!;
        if (inChosen(j)) {
          const want = (trained[j]! - g[j]!) * factor;
          assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `coordinate ${j}: ${got} vs ${want}`);
          out += got * got;
        } else {
          // central mode: the experts it did not choose are not part of its message (left as trained)
          assert.is(got, Math.fround(trained[j]!));
        }
      }
      assert.ok(Math.sqrt(out) <= DP.clip * (1 + 1e-5), `clipped norm ${Math.sqrt(out)}`);
    }),
    { numRuns: 80 },
  );
});

test("local noise: the client's message carries N(0, σ²C²) everywhere, the same for the same (seed, round, client)", async () => {
  const { be, store, layout, S, G, global } = await setup();
  const f = be.f;
  const sh = store.buffer("shared").values;
  const gr = store.buffer("group").values;
  const local = new DpClient({ ...DP, noise: "local", noiseMultiplier: 2 }, store, layout, 7);
  assert.ok(local.allExperts);
  const message = (client: number, round: number) => {
    f.fill(0, global, global + S + G);
    f.fill(0, sh, sh + S);
    f.fill(0, gr, gr + G);
    local.prepare(global, client, round, [0, 1]);
    return [...f.subarray(sh, sh + S), ...f.subarray(gr, gr + G)];
  };
  assert.equal(message(4, 2), message(4, 2));
  assert.not.equal(message(4, 2), message(5, 2));
  assert.not.equal(message(4, 2), message(4, 3));
  // a zero update: the message is the noise alone, std σC = 3 (4 sd of the sample std over ~2,600 draws)
  const draws = Array.from({ length: 40 }, (_, c) => message(c, 1)).flat();
  const sd = Math.sqrt(draws.reduce((s, v) => s + v * v, 0) / draws.length);
  assert.ok(Math.abs(sd - 3) < 4 * (3 / Math.sqrt(2 * draws.length)), `sample std ${sd}`);
});

test("release: the sum of clipped updates plus N(0, σ²C²) over the expected cohort; counts noised; the accountant composes", async () => {
  const { layout, S, G } = await setup();
  const opts = { noise: 3, population: 400, rate: 0.25, sharedSize: S, groupSize: G, layout };
  const agg = new DpAggregation(DP, opts);
  const global = Float32Array.from({ length: S + G }, (_, j) => j / 10);
  const sums = Float64Array.from({ length: S + G }, (_, j) => (j % 3) - 1);
  const counts = Float64Array.from([90, 10, 0, 50, 50, 0]);
  const t1 = sums.slice();
  const r = agg.release(1, t1, counts, 100, global);
  // reproducible: the same round and seed give the same noise, another round another
  const t2 = sums.slice();
  new DpAggregation(DP, opts).release(1, t2, counts, 100, global);
  assert.equal(t1, t2);
  const t3 = sums.slice();
  new DpAggregation(DP, opts).release(2, t3, counts, 100, global);
  assert.not.equal(t1, t3);
  // shared: scale 1/(qN) = 1/100, and total·scale − global is the noisy mean update
  assert.equal(r.ranges[0], { from: 0, to: S, scale: 1 / 100 });
  const noise: number[] = [];
  for (const { from, to, scale } of r.ranges) {
    for (let j = from; j < to; j++) noise.push(t1[j]! - global[j]! / scale - sums[j]!);
  }
  const sd = Math.sqrt(noise.reduce((s, v) => s + v * v, 0) / noise.length);
  const want = DP.noiseMultiplier * DP.clip;
  assert.ok(Math.abs(sd - want) < 5 * (want / Math.sqrt(2 * noise.length)), `noise std ${sd}, want ${want}`);
  // experts: divided by max(noisy count, qN/K), never by less than an even share of the cohort
  assert.is(r.ranges.length, 1 + L * K);
  for (let cell = 0; cell < L * K; cell++) {
    const rg = r.ranges[1 + cell]!;
    assert.is(rg.from, S + layout.start[cell]!);
    assert.ok(rg.scale <= 1 / (100 / K) + 1e-15, `expert ${cell} scale ${rg.scale}`);
  }
  // shares: per block, non-negative, summing to 1
  for (let l = 0; l < L; l++) {
    const row = Array.from(r.groupShare.subarray(l * K, (l + 1) * K));
    assert.ok(row.every((v) => v >= 0));
    assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-12);
  }
  // one round spent: ε of one step at q 0.25 with the counts' share of the noise
  const eps = epsilonOf(0.25, accountedNoise(DP.noiseMultiplier, true), 1, DP.delta).epsilon;
  assert.is(agg.spent().epsilon, eps);
});

test("the budget stop: no round starts that would take ε past the budget", async () => {
  const { layout, S, G } = await setup();
  const sigma = 1.1;
  const per = (n: number) => epsilonOf(0.5, accountedNoise(sigma, true), n, 1e-5).epsilon;
  // a budget between 3 and 4 rounds
  const budget = (per(3) + per(4)) / 2;
  const agg = new DpAggregation({ ...DP, epsilon: budget, noiseMultiplier: sigma }, { noise: 1, population: 10, rate: 0.5, sharedSize: S, groupSize: G, layout });
  let rounds = 0;
  while (agg.budgetStop() === null) agg.release(++rounds, new Float64Array(S + G), new Float64Array(L * K), 5, new Float32Array(S + G));
  assert.is(rounds, 3);
  assert.ok(agg.spent().epsilon <= budget);
  assert.match(agg.budgetStop()!, /privacy budget/);
});

test("planDp calibrates σ so that the planned rounds spend at most ε, counting the routed counts' share", () => {
  for (const groups of [true, false]) {
    const dp = planDp({ epsilon: 3, delta: 1e-5, clip: 2, noise: "central" }, 0.2, 15, groups);
    const e = epsilonOf(0.2, accountedNoise(dp.noiseMultiplier, groups), 15, 1e-5).epsilon;
    assert.ok(e <= 3 && e > 2.99, `ε ${e}`);
  }
  assert.throws(() => planDp({ epsilon: -1, delta: 1e-5, clip: 2, noise: "central" }, 0.2, 15, true), /epsilon/);
  assert.throws(() => planDp({ epsilon: 1, delta: 2, clip: 2, noise: "central" }, 0.2, 15, true), /delta/);
  assert.throws(() => planDp({ epsilon: 1, delta: 1e-5, clip: 0, noise: "central" }, 0.2, 15, true), /clip/);
  assert.throws(() => planDp({ epsilon: 1, delta: 1e-5, clip: 1, noise: "nowhere" as "local" }, 0.2, 15, true), /noise/);
});

test("Poisson sampling: reproducible, ascending, everybody at q = 1, about qN in expectation", () => {
  assert.equal(poissonSample(50, 1, 9, 3), Int32Array.from({ length: 50 }, (_, i) => i));
  assert.equal(poissonSample(1000, 0.3, 9, 3), poissonSample(1000, 0.3, 9, 3));
  assert.not.equal(poissonSample(1000, 0.3, 9, 3), poissonSample(1000, 0.3, 9, 4));
  let total = 0;
  for (let round = 1; round <= 20; round++) {
    const ids = poissonSample(1000, 0.3, 9, round);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!);
    total += ids.length;
  }
  // 20 rounds × 1000 × 0.3 = 6000, sd √(20000·0.21) ≈ 65
  assert.ok(Math.abs(total - 6000) < 4 * 65, String(total));
});

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-dp-"));
  dirs.push(d);
  return d;
}

function small(noise: "central" | "local", rounds = 3): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 40, items: 200, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 12, fieldDim: 4, groups: 3, mlp: [16] };
  c.rounds = rounds;
  c.chunk = 8;
  c.bootstrap = 50;
  c.participation = { ratio: 0.6 };
  c.dp = planDp({ epsilon: 6, delta: 1e-4, clip: 2, noise }, 0.6, rounds, true);
  return c;
}

const numbers = (rows: RoundRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);

for (const noise of ["central", "local"] as const) {
  test(`DP training (${noise} noise): workers 0 and 2 agree bit for bit, ε per round rises to at most the budget`, async () => {
    const a = tmp();
    const b = tmp();
    const one = await train(small(noise), { workers: 0, out: a });
    const two = await train(small(noise), { workers: 2, out: b });
    assert.equal(numbers(two.report.rounds), numbers(one.report.rounds));
    const g1 = loadArray(readRunCheckpoint(a).arrays.global!);
    const g2 = loadArray(readRunCheckpoint(b).arrays.global!);
    assert.equal(new Uint8Array(g1.buffer), new Uint8Array(g2.buffer));
    const eps = one.report.rounds.map((r) => r.epsilon!);
    assert.is(eps.length, 3);
    for (let i = 1; i < eps.length; i++) assert.ok(eps[i]! > eps[i - 1]!, `ε ${eps}`);
    assert.ok(eps[2]! <= 6, `ε ${eps[2]}`);
    assert.ok(one.report.rounds.every((r) => Number.isFinite(r.val_auc)));
    const json = JSON.parse(readFileSync(join(a, REPORT_JSON), "utf8"));
    assert.is(json.rounds[2].epsilon, eps[2]);
    assert.is(json.config.dp.noise, noise);
  });
}

test("a DP run stopped and resumed ends where an uninterrupted one does; more rounds stop at the budget", async () => {
  const whole = tmp();
  const full = await train(small("central"), { workers: 0, out: whole });
  const out = tmp();
  const stop = new AbortController();
  await train(small("central"), { workers: 0, out, signal: stop.signal, onRound: (row) => row.round === 2 && stop.abort() });
  assert.ok(readRunCheckpoint(out).arrays.dpRdp instanceof Float64Array);
  const resumed = await resumeTraining(out, { workers: 2 });
  assert.equal(numbers(resumed.report.rounds), numbers(full.report.rounds));
  const g1 = loadArray(readRunCheckpoint(whole).arrays.global!);
  const g2 = loadArray(readRunCheckpoint(out).arrays.global!);
  assert.equal(new Uint8Array(g1.buffer), new Uint8Array(g2.buffer));
  // the noise was calibrated for 3 rounds: asking for 6 stops before the budget is exceeded
  const more = await resumeTraining(out, { workers: 0, rounds: 6 });
  assert.is(more.report.completed, false);
  assert.match(more.report.stopped ?? "", /privacy budget/);
  assert.ok(more.report.rounds.at(-1)!.epsilon! <= 6);
});

test("DP settings are checked: federated regimes only, uniform weighting, a ratio", () => {
  const c = small("central");
  assert.throws(() => checkConfig({ ...c, regime: "local" }), /federated regimes/);
  assert.throws(() => checkConfig({ ...c, weighting: "samples" }), /uniform/);
  assert.throws(() => checkConfig({ ...c, participation: { count: 10 } }), /ratio/);
  assert.throws(() => checkConfig({ ...c, dp: { ...c.dp!, noiseMultiplier: 0 } }), /noiseMultiplier/);
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
