// Differential privacy inside secure aggregation (secagg/noised-vector.ts, coordinator/dp-round.ts):
// each device clips, noises (std σC/√T) and only then quantises its padded vector; the coordinator
// unmasks the sum of the noised vectors and tops its noise up from the secret key (the top-up's
// statistics: secure-dp.topup.test.ts).
//   - the dequantised sum of r noised vectors is within r·B/(2Q) of their real-valued sum (property);
//   - the device's noise has std σC/√T on the deltas and λσ√L/√T on the counts (statistical test);
//   - over HTTP, the coordinator's model equals the replay that sums the devices' noised, quantised
//     vectors plainly mod 2^32 and releases them as DpRound does (so the unmasked sum is exactly
//     that sum); dropouts at the threshold finish, below it the round is skipped with nothing
//     applied; ε stops the run at the budget; too small a Poisson cohort skips the round; a
//     coordinator that stops after charging a round (before it can unmask the sum) has spent it;
//   - refused combinations name both settings.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GroupLayout } from "../src/federated/aggregate.js";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import { Coordinator } from "../src/federated/coordinator/coordinator.js";
import { startCoordinator, type RunningCoordinator, type ServeOptions } from "../src/federated/coordinator/http.js";
import { loadState } from "../src/federated/coordinator/state.js";
import { accountedNoise, COUNT_NOISE_FACTOR, type DpConfig } from "../src/federated/dp-config.js";
import { ClientError, FederatedClient } from "../src/federated/net-client/client.js";
import { cryptoNormal, NOISE_TAIL, noisedSpec, noisedVector, quantiseNoised, unpackNoisedSum } from "../src/federated/secagg/noised-vector.js";
import { quantLevels } from "../src/federated/secagg/quantise.js";
import type { SecureLayout } from "../src/federated/secagg/update-vector.js";
import { loadData, schemaOfSource } from "../src/federated/source.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { RdpAccountant } from "../src/privacy/accountant.js";
import { epsilonOf } from "../src/privacy/rdp.js";
import { Rng } from "../src/util/rng.js";
import { device, vanishAt } from "./net-device-fixtures.js";
import { replay } from "./net-replay.js";

const SIGMA = 1.3;
/** The coordinators' secret key (their sampling and top-up noise). */
const SECRET_KEY = [5, 0, 0, 0, 0, 0, 0, 0];
const CLIP = 0.5;

function dpRun(rounds: number, dp: Partial<DpConfig> = {}, ratio = 1): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  c.rounds = rounds;
  c.weighting = "uniform";
  c.participation = { ratio };
  c.dp = { epsilon: 1e3, delta: 1e-5, clip: CLIP, noise: "local", noiseMultiplier: SIGMA, ...dp };
  return c;
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-securedp-"));
  dirs.push(d);
  return d;
}

/** A DP secure coordinator and its state folder. */
async function serve(config: TrainConfig, extra: Partial<ServeOptions> = {}): Promise<{ running: RunningCoordinator; dir: string }> {
  const dir = tmp();
  const running = await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: dir, roundDeadlineMs: 30_000, secure: {}, minClients: 3, dpSecretKey: SECRET_KEY, ...extra });
  return { running, dir };
}

/** The device noise of user u (seeded, so that the replay can draw the same numbers). */
const noiseSeed = (u: number) => 1000 + u;

/** The replay of a run whose devices drew noise from Rng(noiseSeed(user)). */
async function replayed(config: TrainConfig, dir: string, ids: Map<number, number>, threshold: number, population: number) {
  const saved = loadState(dir)!;
  const streams = new Map<number, Rng>();
  const global = replay({
    config,
    ds: loadData(config.data),
    history: saved.header.history.filter((h) => h.skipped === undefined),
    userOf: (id) => ids.get(id)!,
    be: await loadWasmBackend(),
    secure: {
      bound: 1,
      dp: { threshold, population, secretKey: SECRET_KEY, normalOf: (u) => streams.get(u) ?? streams.set(u, new Rng(noiseSeed(u))).get(u)! },
    },
  });
  return { saved, global };
}

/** Awaits `f` and checks that it fails with an error `ok` accepts. */
async function rejects(f: () => Promise<unknown>, ok: (e: unknown) => boolean): Promise<void> {
  let failed: unknown = null;
  try {
    await f();
  } catch (e) {
    failed = e ?? "thrown";
  }
  assert.ok(failed !== null && ok(failed), `expected a refusal, got ${String(failed)}`);
}

/** A layout of `blocks` × `groups` experts of `size` values each after `shared` values. */
function layoutOf(shared: number, blocks: number, groups: number, size: number): SecureLayout {
  if (blocks === 0) return { shared, group: 0, experts: null };
  const cells = blocks * groups;
  const experts: GroupLayout = { blocks, groups, start: Int32Array.from({ length: cells }, (_, c) => c * size), size: new Int32Array(cells).fill(size) };
  return { shared, group: cells * size, experts };
}

test("the dequantised sum of r noised vectors is within r·B/(2Q) of their real sum (deltas and counts)", () => {
  fc.assert(
    fc.property(
      fc.record({
        shared: fc.integer({ min: 0, max: 20 }),
        blocks: fc.integer({ min: 0, max: 3 }),
        groups: fc.integer({ min: 1, max: 3 }),
        size: fc.integer({ min: 1, max: 6 }),
        cohort: fc.integer({ min: 1, max: 12 }),
        clip: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        sigma: fc.double({ min: 0.05, max: 20, noNaN: true }),
        seed: fc.integer(),
        scale: fc.double({ min: 0, max: 1e6, noNaN: true }),
      }),
      fc.integer({ min: 1, max: 12 }),
      (p, t) => {
        const threshold = Math.min(t, p.cohort);
        const layout = layoutOf(p.shared, p.blocks, p.groups, p.size);
        const dp = { clip: p.clip, noiseMultiplier: p.sigma };
        const spec = noisedSpec(dp, threshold, p.blocks, p.cohort);
        const rng = new Rng(p.seed);
        const n = layout.shared + layout.group + p.blocks * p.groups;
        const sum = new Uint32Array(n + 2);
        const real = new Float64Array(n);
        for (let i = 0; i < p.cohort; i++) {
          const u = {
            shared: Float32Array.from({ length: p.shared }, () => (rng.next() - 0.5) * p.scale),
            experts: Array.from({ length: p.blocks }, () => Float32Array.from({ length: p.size }, () => (rng.next() - 0.5) * p.scale)),
            routes: Int32Array.from({ length: p.blocks }, () => Math.floor(rng.next() * p.groups)),
            samples: 3,
            loss: 1,
          };
          const v = noisedVector(u, layout, dp, spec, rng);
          // every noised value fits the range: the quantiser never clips one
          for (let j = 0; j < n; j++) assert.ok(Math.abs(v[j]!) <= (j < layout.shared + layout.group ? spec.values.bound : spec.counts.bound));
          const q = quantiseNoised(v, layout, spec);
          for (let j = 0; j < sum.length; j++) sum[j] = sum[j]! + q[j]!;
          for (let j = 0; j < n; j++) real[j] += v[j]!;
        }
        const got = unpackNoisedSum(sum, layout, spec, p.cohort);
        const tol = (b: number) => (p.cohort * b) / (2 * quantLevels({ bound: b, clients: p.cohort })) * (1 + 1e-9);
        const flat = [...got.shared, ...got.group];
        flat.forEach((x, j) => assert.ok(Math.abs(x - real[j]!) <= tol(spec.values.bound), `delta ${j}: ${x} vs ${real[j]}`));
        Array.from(got.counts).forEach((x, c) => assert.ok(Math.abs(x - real[layout.shared + layout.group + c]!) <= tol(spec.counts.bound), `count ${c}`));
        assert.equal([got.loss, got.samples, got.noisyCounts], [0, 0, true]);
      },
    ),
    { numRuns: 60 },
  );
});

test("noisedVector: unclipped or non-finite updates, wrong shapes and a threshold above the cohort are refused; the input is left as it was", () => {
  const layout = layoutOf(3, 1, 2, 2);
  const dp = { clip: 1, noiseMultiplier: 1 };
  const spec = noisedSpec(dp, 2, 1, 3);
  const u = { shared: Float32Array.of(3, 4, 0), experts: [Float32Array.of(0, 0)], routes: Int32Array.of(1), samples: 1, loss: 1 };
  // a zero noise source shows the clipped values: norm 5 scaled to 1, in place of expert (0, 1), one-hot count
  const v = noisedVector(u, layout, dp, spec, { normal: () => 0 });
  assert.ok(Math.abs(v[0]! - 0.6) < 1e-6 && Math.abs(v[1]! - 0.8) < 1e-6);
  assert.equal(Array.from(v.subarray(7)), [0, 1]);
  assert.equal(Array.from(u.shared), [3, 4, 0], "the device's update was changed");
  assert.throws(() => noisedVector({ ...u, shared: Float32Array.of(NaN, 0, 0) }, layout, dp, spec, cryptoNormal()), /not finite/);
  assert.throws(() => noisedVector({ ...u, routes: Int32Array.of(2) }, layout, dp, spec, cryptoNormal()), /route of block 0 is 2/);
  assert.throws(() => noisedVector({ ...u, shared: new Float32Array(2) }, layout, dp, spec, cryptoNormal()), /shared has 2 values/);
  assert.throws(() => noisedSpec(dp, 4, 1, 3), /threshold 4 for a cohort of 3/);
  assert.throws(() => noisedSpec({ clip: 1, noiseMultiplier: 0 }, 2, 1, 3), /noise multiplier/);
  assert.throws(() => unpackNoisedSum(Uint32Array.from({ length: 11 }, (_, j) => (j === 9 ? 5 : 0)), layout, spec, 3), /withheld/);
});

test("device noise (WebCrypto): std σC/√T on the deltas and λσ√L/√T on the counts, mean 0, Gaussian tails, never beyond the range", () => {
  // SE of a sample std over n draws is std/√(2n): 0.35% at n = 40,000, so 2% is ~6 SE; the share
  // beyond 2 std (Gaussian: 4.55%) has SE 0.10% at that n, so ±0.5% is ~5 SE
  const T = 3;
  const dp = { clip: 2, noiseMultiplier: 1.5 };
  const big = layoutOf(40_000, 0, 1, 1);
  const spec = noisedSpec(dp, T, 0, 5);
  const zero = { shared: new Float32Array(40_000), experts: [], routes: new Int32Array(0), samples: 0, loss: 0 };
  const v = noisedVector(zero, big, dp, spec, cryptoNormal());
  const want = (dp.noiseMultiplier * dp.clip) / Math.sqrt(T);
  const stats = (xs: ArrayLike<number>, std: number) => {
    let m = 0;
    let sq = 0;
    let tail = 0;
    let max = 0;
    for (let j = 0; j < xs.length; j++) {
      m += xs[j]!;
      sq += xs[j]! ** 2;
      if (Math.abs(xs[j]!) > 2 * std) tail++;
      max = Math.max(max, Math.abs(xs[j]!) / std);
    }
    return { mean: m / xs.length, std: Math.sqrt(sq / xs.length), tail: tail / xs.length, max };
  };
  const d = stats(v, want);
  assert.ok(Math.abs(d.std / want - 1) < 0.02, `delta noise std ${d.std}, want ${want}`);
  assert.ok(Math.abs(d.mean) < (5 * want) / Math.sqrt(v.length), `delta noise mean ${d.mean}`);
  assert.ok(Math.abs(d.tail - 0.0455) < 0.005, `share beyond 2 std ${d.tail}`);
  assert.ok(d.max < 8.6 && 8.6 < NOISE_TAIL, `largest draw ${d.max} std`);
  // counts: 4,000 devices × 2 blocks × 3 groups = 24,000 draws (SE 0.46%, 2% ~4.4 SE)
  const small = layoutOf(1, 2, 3, 1);
  const cspec = noisedSpec(dp, T, 2, 5);
  const wantCount = (COUNT_NOISE_FACTOR * dp.noiseMultiplier * Math.sqrt(2)) / Math.sqrt(T);
  assert.ok(Math.abs(cspec.countStd - wantCount) < 1e-12);
  const normal = cryptoNormal();
  const residuals: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const routes = Int32Array.of(i % 3, (i + 1) % 3);
    const cv = noisedVector({ shared: new Float32Array(1), experts: [new Float32Array(1), new Float32Array(1)], routes, samples: 0, loss: 0 }, small, dp, cspec, normal);
    for (let c = 0; c < 6; c++) residuals.push(cv[7 + c]! - (routes[Math.floor(c / 3)] === c % 3 ? 1 : 0));
  }
  const c = stats(residuals, wantCount);
  assert.ok(Math.abs(c.std / wantCount - 1) < 0.02, `count noise std ${c.std}, want ${wantCount}`);
  assert.ok(Math.abs(c.mean) < (5 * wantCount) / Math.sqrt(residuals.length), `count noise mean ${c.mean}`);
});

test("over HTTP: the model equals the plain integer sum of the devices' noised vectors, released as DpRound does; ε per round in status and logs", async () => {
  const config = dpRun(2);
  const lines: string[] = [];
  const { running, dir } = await serve(config, { log: (l) => lines.push(l) });
  const users = [0, 4, 9];
  try {
    // each device's noise floor is the run's σ: the boundary is taken
    const devices = users.map((u) => device(running.url, u, config, undefined, { noise: new Rng(noiseSeed(u)), minNoise: SIGMA }));
    const summaries = await Promise.all(devices.map((d) => d.run()));
    for (const s of summaries) assert.ok(s.finished && s.accepted.length === 2, JSON.stringify(s));
    const ids = new Map(summaries.map((s, i) => [s.client, users[i]!]));
    // a cohort of 3: threshold ⌊3/2⌋ + 1 = 2, so each device adds σC/√2
    const { saved, global } = await replayed(config, dir, ids, 2, 3);
    assert.equal(running.coordinator.globalValues(), global, "the coordinator's model differs from the release of the plain sum of the noised vectors");
    const accountant = new RdpAccountant();
    for (const [r, h] of saved.header.history.entries()) {
      accountant.step(1, accountedNoise(SIGMA, true));
      const want = accountant.epsilon(config.dp!.delta).epsilon;
      assert.is(h.epsilon, want, `round ${r}`);
      assert.equal([h.clients, h.withheld, h.loss, h.samples], [3, true, 0, 0]);
      assert.ok(lines.some((l) => l.startsWith(`round ${r} closed`) && l.includes("withheld") && l.includes(`epsilon spent ${want.toFixed(4)}`)), `log of round ${r}`);
    }
    const status = (await (await fetch(`${running.url}/v1/status`)).json()) as { privacy: { epsilon: number; noise: string; stopped: null; coordinator: number; perParticipation: number }; last: object; clients: object; bytes?: object };
    assert.equal([status.privacy.noise, status.privacy.stopped, status.privacy.epsilon], ["local", null, saved.header.history[1]!.epsilon]);
    // against the coordinator (and whoever reads its logs): two unamplified Gaussian rounds (here q = 1, so the same as the released ε)
    assert.is(status.privacy.coordinator, epsilonOf(1, accountedNoise(SIGMA, true), 2, config.dp!.delta).epsilon);
    assert.is(status.privacy.perParticipation, status.privacy.coordinator);
    // nothing of who or how many took part: no ids, counts or traffic
    assert.equal([status.last, status.clients, status.bytes], [{ round: 1, epsilon: saved.header.history[1]!.epsilon }, { registered: 3 }, undefined]);
    assert.ok(lines.some((l) => l.includes("device noise std") && l.includes("threshold 2")));
  } finally {
    await running.close();
  }
});

test("over HTTP: a dropout down to the threshold still finishes with the survivors' noised sum", async () => {
  const config = dpRun(1);
  // a cohort of 4: the majority threshold is 3
  const { running, dir } = await serve(config, { minClients: 4, roundDeadlineMs: 1500 });
  const users = [1, 2, 3, 5];
  try {
    const devices: ReturnType<typeof device>[] = [];
    // user 3 vanishes after its masked input: 4 inputs, 3 unmask answers (= T)
    for (const [i, u] of users.entries()) devices.push(device(running.url, u, config, u === 3 ? vanishAt("/v1/secagg/unmask", () => devices[i]!) : undefined, { noise: new Rng(noiseSeed(u)) }));
    const summaries = await Promise.all(devices.map((d) => d.run()));
    const ids = new Map(summaries.map((s, i) => [s.client, users[i]!]));
    const { saved, global } = await replayed(config, dir, ids, 3, 4);
    assert.is(saved.header.history[0]!.accepted.length, 4);
    assert.is(saved.header.history[0]!.skipped, undefined);
    assert.equal(saved.global, global);
  } finally {
    await running.close();
  }
});

test("over HTTP: below the threshold the round is skipped: nothing applied, not re-run, composed into the accountant", async () => {
  const config = dpRun(1);
  const { running, dir } = await serve(config, { roundDeadlineMs: 1500 });
  const initial = running.coordinator.globalValues();
  const users = [0, 6, 7];
  try {
    const devices: ReturnType<typeof device>[] = [];
    // a cohort of 3 (threshold 2) of which two vanish after their masked input: one unmask answer
    for (const [i, u] of users.entries()) devices.push(device(running.url, u, config, u !== 0 ? vanishAt("/v1/secagg/unmask", () => devices[i]!) : undefined));
    const summaries = await Promise.all(devices.map((d) => d.run()));
    assert.ok(summaries[0]!.finished);
    const saved = loadState(dir)!;
    assert.is(saved.header.history.length, 1);
    const h = saved.header.history[0]!;
    assert.equal([h.clients, h.accepted, h.selected], [0, [], 3]);
    assert.match(h.skipped ?? "", /secure attempt aborted/);
    assert.equal(running.coordinator.globalValues(), initial, "a skipped round changed the model");
    const accountant = new RdpAccountant();
    accountant.step(1, accountedNoise(SIGMA, true));
    assert.is(h.epsilon, accountant.epsilon(config.dp!.delta).epsilon);
    // the survivors' training of the round is dropped
    assert.ok(devices[0]!.events.some((e) => e.kind === "lost" && e.round === 0));
  } finally {
    await running.close();
  }
});

test("over HTTP: the run stops before a round that would exceed ε; the devices are told it finished", async () => {
  const accountant = new RdpAccountant();
  const eps: number[] = [];
  for (let k = 0; k < 3; k++) {
    accountant.step(1, accountedNoise(SIGMA, true));
    eps.push(accountant.epsilon(1e-5).epsilon);
  }
  // room for two rounds, not three, of the ten planned
  const budget = (eps[1]! + eps[2]!) / 2;
  const config = dpRun(10, { epsilon: budget });
  const { running } = await serve(config);
  try {
    const devices = [2, 3, 8].map((u) => device(running.url, u, config));
    const summaries = await Promise.all(devices.map((d) => d.run()));
    for (const s of summaries) assert.equal([s.finished, s.accepted.length], [true, 2]);
    const s = running.coordinator.status();
    assert.equal([s.round, s.finished, s.privacy!.epsilon], [2, true, eps[1]]);
    assert.ok(s.privacy!.epsilon <= budget);
    assert.match(s.privacy!.stopped ?? "", /privacy budget: one more round would spend epsilon/);
  } finally {
    await running.close();
  }
});

test("over HTTP: a coordinator killed after charging a round, before it asks for the unmasking shares, has spent it; resumed, it re-runs and charges the round again", async () => {
  const accountant = new RdpAccountant();
  const eps: number[] = [];
  for (let k = 0; k < 3; k++) {
    accountant.step(1, accountedNoise(SIGMA, true));
    eps.push(accountant.epsilon(1e-5).epsilon);
  }
  // room for two charges, not three
  const config = dpRun(10, { epsilon: (eps[1]! + eps[2]!) / 2 });
  const crashDir = tmp();
  const devices: ReturnType<typeof device>[] = [];
  let stateDir = "";
  // the charge's line comes right after its checkpoint: the state folder as a crash there leaves it,
  // and the devices stop with that coordinator (it never gets an unmasking share)
  const first = await serve(config, {
    log: (l) => {
      if (!l.startsWith("round 0: charged") || devices[0]!.stop.signal.aborted) return;
      cpSync(stateDir, crashDir, { recursive: true });
      for (const d of devices) d.stop.abort();
    },
  });
  stateDir = first.dir;
  const users = [2, 3, 8];
  let second: RunningCoordinator | null = null;
  try {
    for (const u of users) devices.push(device(first.running.url, u, config));
    const stopped = await Promise.all(devices.map((d) => d.run()));
    for (const s of stopped) assert.equal([s.finished, s.accepted], [false, []], "stopped mid-round");
    assert.ok(loadState(stateDir)!.header.history.length === 0 && devices[0]!.stop.signal.aborted, "the first coordinator applied nothing");
    await first.running.close();
    const lines: string[] = [];
    second = (await serve(config, { stateDir: crashDir, log: (l) => lines.push(l) })).running;
    assert.equal([second.coordinator.status().round, second.coordinator.status().privacy!.epsilon], [0, eps[0]]);
    // the same devices (registrations, pending round) go on with the restarted coordinator
    const summaries = await Promise.all(devices.map((d) => new FederatedClient({ ...d.opts, server: second!.url, signal: undefined }).run()));
    for (const s of summaries) assert.equal([s.finished, s.accepted], [true, [0]]);
    const s = second.coordinator.status();
    assert.equal({ round: s.round, finished: s.finished, epsilon: s.privacy!.epsilon, charges: s.last!.charges }, { round: 1, finished: true, epsilon: eps[1], charges: 2 });
    assert.match(s.privacy!.stopped ?? "", /privacy budget/);
    // against the coordinator: both attempts count (it may have unmasked the first)
    assert.is(s.privacy!.coordinator, epsilonOf(1, accountedNoise(SIGMA, true), 2, 1e-5).epsilon);
    assert.ok(lines.some((l) => l.startsWith("round 0: charged to the privacy budget before its sum is unmasked (charge 2 of this round)")), lines.join("\n"));
    for (const d of devices) assert.ok(d.events.some((e) => e.kind === "lost" && e.round === 0), "the first attempt's training is dropped");
  } finally {
    await first.running.close();
    await second?.close();
  }
});

test("a Poisson cohort too small for a secure round skips the round (nothing applied, the accountant composes it)", async () => {
  const config = dpRun(4, {}, 0.05);
  const dir = tmp();
  const c = await Coordinator.create({ config, schema: schemaOfSource(config.data), stateDir: dir, minClients: 3, secure: {}, dpSecretKey: [11, 0, 0, 0, 0, 0, 0, 0] });
  const initial = c.globalValues();
  for (let i = 0; i < 3; i++) await c.register();
  // q = 0.05 of 3 clients: with this key every round's cohort is below 3
  const s = c.status();
  assert.equal([s.round, s.finished], [4, true]);
  const history = loadState(dir)!.header.history;
  for (const h of history) assert.match(h.skipped ?? "", /a cohort of [012], fewer than the 3 a secure round needs/);
  // the status says the round released nothing (anyone sees the model did not move), not the cohort's size
  assert.equal(s.last, { round: 3, epsilon: s.privacy!.epsilon, skipped: true });
  assert.equal(c.globalValues(), initial);
  const accountant = new RdpAccountant();
  accountant.step(0.05, accountedNoise(SIGMA, true), 4);
  assert.is(s.privacy!.epsilon, accountant.epsilon(1e-5).epsilon);
  // nothing was released: nothing is spent against the coordinator
  assert.is(s.privacy!.coordinator, 0);
});

test("refused: local noise without secure aggregation, central noise, a bound or a threshold with it (the message names both)", async () => {
  const dir = tmp();
  const create = (config: TrainConfig, secure?: { bound?: number; threshold?: number }) => Coordinator.create({ config, schema: schemaOfSource(config.data), stateDir: dir, minClients: 3, secure });
  await rejects(() => create(dpRun(1)), (e: unknown) => e instanceof RangeError && /dp noise local over the network needs secure aggregation/.test(e.message));
  await rejects(() => create(dpRun(1, { noise: "central" }), {}), (e: unknown) => e instanceof RangeError && /secure aggregation with dp noise central/.test(e.message));
  await rejects(() => create(dpRun(1), { bound: 0.1 }), (e: unknown) => e instanceof RangeError && /secure aggregation with differential privacy takes no bound/.test(e.message));
  await rejects(() => create(dpRun(1), { threshold: 3 }), (e: unknown) => e instanceof RangeError && /secure aggregation with differential privacy takes no threshold/.test(e.message));
  // the refusals come before anything is written
  const again = await create(dpRun(1), {});
  assert.is(again.status().round, 0);
});

test("a device refuses a secure DP task whose range is not the one its clip, σ and threshold give", async () => {
  const config = dpRun(1);
  const { running } = await serve(config);
  try {
    const d = device(running.url, 0, config);
    // the device believes in another σ than the coordinator's: its range differs from the task's
    const mismatched = new FederatedClient({
      ...d.opts,
      hooks: {
        ...d.opts.hooks,
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          if (!String(input).endsWith("/v1/register")) return res;
          const j = (await res.json()) as { config: { dp: { noiseMultiplier: number } } };
          j.config.dp.noiseMultiplier *= 2;
          return new Response(JSON.stringify(j), { status: 200, headers: { "content-type": "application/json" } });
        },
      },
    });
    // two more registrations open the round (min clients 3)
    for (let i = 0; i < 2; i++) await fetch(`${running.url}/v1/register`, { method: "POST", body: "{}" });
    await rejects(() => mismatched.run(), (e) => /secure DP round with range/.test(String(e)));
  } finally {
    await running.close();
  }
});

test("a device whose noise floor implies more per-device noise than the task's σC/√T stops before training, naming the values", async () => {
  const config = dpRun(1);
  const { running } = await serve(config);
  try {
    const d = device(running.url, 0, config, undefined, { minNoise: SIGMA * 1.01 });
    // two more registrations open the round (min clients 3): a cohort of 3, threshold 2
    for (let i = 0; i < 2; i++) await fetch(`${running.url}/v1/register`, { method: "POST", body: "{}" });
    const std = noisedSpec({ clip: CLIP, noiseMultiplier: SIGMA }, 2, 0, 3).std;
    const least = noisedSpec({ clip: CLIP, noiseMultiplier: SIGMA * 1.01 }, 2, 0, 3).std;
    await rejects(
      () => d.run(),
      (e) => e instanceof ClientError && e.message === `round 0: secure DP task with per-device noise std ${std} (noise multiplier ${SIGMA} × clip ${CLIP} / sqrt(threshold 2)), below the ${least} this device's minimum noise multiplier ${SIGMA * 1.01} implies`,
    );
    assert.equal(d.events.map((e) => e.kind), ["registered"], "nothing trained or sent");
  } finally {
    await running.close();
  }
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
