// DP-FedAvg in the network coordinator (coordinator/dp-round.ts), without HTTP: the central noise
// has std σC over the expected cohort, ε per round is the accountant's for (q, σ, rounds), the run
// finishes before a round that would exceed the budget, an over-clip update is refused and changes
// nothing, a restart resumes the accountant exactly; a coordinator that stops after charging a round
// (before releasing it) has spent it, a re-run samples and noises afresh, and a charge that cannot
// be written charges nothing; and the device's clipping (dp-update.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Coordinator, type CoordinatorOptions } from "../src/federated/coordinator/coordinator.js";
import { DpRound } from "../src/federated/coordinator/dp-round.js";
import { ApiError } from "../src/federated/coordinator/errors.js";
import { loadState, saveState } from "../src/federated/coordinator/state.js";
import { accountedNoise, planDp, poissonSampleFrom, type DpConfig } from "../src/federated/dp-config.js";
import { Stream } from "../src/federated/seed.js";
import { KeyedStream } from "../src/util/chacha20.js";
import { clipUpdate, updateNorm } from "../src/federated/dp-update.js";
import { RdpAccountant } from "../src/privacy/accountant.js";
import { epsilonOf } from "../src/privacy/rdp.js";
import { encodeFrame, type WirePartition } from "../src/federated/wire/index.js";
import { parseServeArgs, serveConfig } from "../src/cli/serve-options.js";
import { UsageError } from "../src/cli/command.js";
import { deltaArrays, smallConfig, smallSchema, someValues, tempDir } from "./coordinator-fixtures.js";

const DEADLINE = 10_000;
/** The coordinators' secret key (a fixed one: tests only). */
const KEY = [7, 0, 0, 0, 0, 0, 0, 0];

function dpConfig(rounds: number, q: number, dp: DpConfig) {
  const c = smallConfig(rounds);
  c.participation = { ratio: q };
  c.dp = dp;
  return c;
}

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function coordinator(dir: string, config: ReturnType<typeof dpConfig>, extra: Partial<CoordinatorOptions> = {}) {
  return Coordinator.create({ config, schema: smallSchema(config), stateDir: dir, roundDeadlineMs: DEADLINE, dpSecretKey: KEY, ...extra });
}

/** An update frame of the given deltas (shared, then the chosen expert per block). */
function frame(round: number, shared: Float32Array, experts: Float32Array[], routes: number[]): Uint8Array {
  const partitions: WirePartition[] = [
    { name: "shared", encoding: "f32", length: shared.length, values: shared },
    ...experts.map((e, l): WirePartition => ({ name: `group.${l}.${routes[l]}`, encoding: "f32", length: e.length, values: e })),
    { name: "routes", encoding: "i32", length: routes.length, values: Int32Array.from(routes) },
    { name: "meta", encoding: "f32", length: 2, values: Float32Array.of(3, 0.5) },
  ];
  return encodeFrame({ type: "update", round, partitions });
}

/** A clipped update of client i (someValues' deltas scaled to norm ≤ C). */
function clippedUpdate(c: Coordinator, round: number, i: number, clip: number): Uint8Array {
  const v = someValues(i);
  const d = deltaArrays(c.shape, v);
  clipUpdate([d.shared, ...d.experts], clip);
  return frame(round, d.shared, d.experts, v.routes);
}

/** Runs the open round: every selected client sends a clipped update; closes at the deadline if needed. */
function runRound(c: Coordinator, regs: { client: number; token: string }[], clip: number, t: ReturnType<typeof clock>): void {
  const round = c.status().round;
  for (const r of regs) {
    const reply = c.task(r.client, r.token);
    if (reply.kind === "task" && reply.round === round) c.submit(r.client, r.token, clippedUpdate(c, round, r.client, clip));
  }
  if (c.status().round === round && c.status().open) {
    t.advance(DEADLINE + 1);
    c.tick();
  }
}

const dp = (noiseMultiplier: number, extra: Partial<DpConfig> = {}): DpConfig => ({ epsilon: 50, delta: 1e-5, clip: 2, noise: "central", noiseMultiplier, ...extra });

test("central noise: the shared values move by N(0, (σC)²)/(qN) around the clipped mean", async () => {
  const t = tempDir();
  try {
    const sigma = 3;
    const clip = 2;
    const c = await coordinator(t.dir, dpConfig(2, 1, dp(sigma, { clip })), { minClients: 4 });
    const regs = [await c.register(), await c.register(), await c.register(), await c.register()];
    const before = c.globalValues();
    const S = c.shape.sharedSize;
    // zero updates: what moves the shared values is the noise alone
    for (const r of regs) {
      const v = someValues(r.client);
      const d = deltaArrays(c.shape, v);
      d.shared.fill(0);
      for (const e of d.experts) e.fill(0);
      c.submit(r.client, r.token, frame(0, d.shared, d.experts, v.routes));
    }
    assert.is(c.status().round, 1);
    const after = c.globalValues();
    const moves = Array.from({ length: S }, (_, j) => after[j]! - before[j]!);
    const mean = moves.reduce((s, x) => s + x, 0) / S;
    const std = Math.sqrt(moves.reduce((s, x) => s + (x - mean) ** 2, 0) / (S - 1));
    const expected = (sigma * clip) / regs.length;
    // S draws: the sample std is within 5 standard errors (expected/√(2S)), the mean within 5·expected/√S
    assert.ok(S >= 100, `the shared partition has ${S} values`);
    assert.ok(Math.abs(std - expected) < (5 * expected) / Math.sqrt(2 * S), `std ${std}, expected ${expected}`);
    assert.ok(Math.abs(mean) < (5 * expected) / Math.sqrt(S), `mean ${mean}`);
  } finally {
    t.remove();
  }
});

test("epsilon per round is the accountant's for (q, σ, rounds); status and log report it", async () => {
  const t = tempDir();
  try {
    const q = 0.5;
    const sigma = 1.2;
    const lines: string[] = [];
    const tk = clock();
    const c = await coordinator(t.dir, dpConfig(4, q, dp(sigma)), { minClients: 6, now: tk.now, log: (l) => lines.push(l) });
    const regs = [];
    for (let i = 0; i < 6; i++) regs.push(await c.register());
    assert.ok(lines.includes(`differential privacy: budget epsilon 50 (delta 0.00001), noise multiplier ${sigma}, clip 2, sampling rate ${q}, noise added by the coordinator; 0.0000 spent`), lines.join("\n"));
    const ref = new RdpAccountant();
    for (let r = 0; r < 4; r++) {
      runRound(c, regs, 2, tk);
      ref.step(q, accountedNoise(sigma, true));
      const want = ref.epsilon(1e-5).epsilon;
      const s = c.status();
      assert.is(s.round, r + 1);
      assert.is(s.privacy!.epsilon, want, `round ${r}`);
      assert.is(s.last!.epsilon, want);
      assert.ok(lines.some((l) => l.startsWith(`round ${r} closed`) && l.includes(`epsilon spent ${want.toFixed(4)}`)), `log line of round ${r}`);
    }
    assert.is(c.status().finished, true);
  } finally {
    t.remove();
  }
});

test("status withholds who and how many took part in a DP run (ids, counts, bytes, timings) and reports the per-participation epsilon; a run without DP shows them", async () => {
  const t = tempDir();
  const plainDir = tempDir();
  try {
    const sigma = 1.2;
    const tk = clock();
    const lines: string[] = [];
    const c = await coordinator(t.dir, dpConfig(3, 0.5, dp(sigma)), { minClients: 4, now: tk.now, log: (l) => lines.push(l) });
    const regs: { client: number; token: string }[] = [];
    for (let i = 0; i < 4; i++) regs.push(await c.register());
    const open = c.status();
    assert.equal(open.clients, { registered: 4 }, "the open round's selected and submitted counts");
    runRound(c, regs, 2, tk);
    runRound(c, regs, 2, tk);
    const s = c.status();
    const eps = epsilons(0.5, sigma, 2);
    assert.equal(s.clients, { registered: 4 });
    assert.equal(s.last, { round: 1, epsilon: eps[1] }, "the last round: no ids, counts, loss, sizes or seconds");
    // against whoever knows who took part: two unamplified Gaussian rounds
    const per = epsilonOf(1, accountedNoise(sigma, true), 2, 1e-5).epsilon;
    assert.equal([s.privacy!.perParticipation, s.privacy!.coordinator, s.privacy!.epsilon], [per, undefined, eps[1]]);
    assert.ok(per > eps[1]!, "with q < 1 the per-participation epsilon is the larger");
    // the operator's log and checkpoint keep the membership (a replay needs it), and say what holds against their reader
    const cohorts = [0, 1].map((r) => Array.from(poissonSampleFrom(4, 0.5, new KeyedStream(KEY, [Stream.Sample, r, 0])), (i) => regs[i]!.client));
    assert.ok(cohorts.some((ids) => ids.length > 0), "some round had clients");
    assert.equal(loadState(t.dir)!.header.history.map((h) => h.accepted), cohorts);
    assert.ok(lines.some((l) => l.startsWith("round 1 closed") && l.includes(`per participation ${per.toFixed(4)} (against whoever knows who took part`)), lines.join("\n"));
    // the same rounds without DP: the status shows the counts and the ids
    const plain = await Coordinator.create({ config: smallConfig(3), schema: smallSchema(smallConfig(3)), stateDir: plainDir.dir, minClients: 2, roundDeadlineMs: DEADLINE });
    const pr = [await plain.register(), await plain.register()];
    assert.equal(plain.status().clients, { registered: 2, selected: 2, submitted: 0 });
    for (const r of pr) plain.submit(r.client, r.token, clippedUpdate(plain, 0, r.client, 2));
    const ps = plain.status();
    assert.equal([ps.last && "accepted" in ps.last && ps.last.accepted, ps.privacy], [pr.map((r) => r.client), undefined]);
  } finally {
    t.remove();
    plainDir.remove();
  }
});

test("the run finishes before the round that would exceed the budget (rounds extended past the plan)", async () => {
  const t = tempDir();
  try {
    const q = 1;
    const planned = planDp({ epsilon: 4, delta: 1e-5, clip: 2, noise: "central" }, q, 3, true);
    const tk = clock();
    const c = await coordinator(t.dir, dpConfig(20, q, planned), { minClients: 3, now: tk.now });
    const regs = [await c.register(), await c.register(), await c.register()];
    // the last round n whose ε stays within 4, from the accountant alone
    const ref = new RdpAccountant();
    let fits = 0;
    while (ref.epsilonAfter(q, accountedNoise(planned.noiseMultiplier, true), 1, 1e-5).epsilon <= 4) {
      ref.step(q, accountedNoise(planned.noiseMultiplier, true));
      fits++;
    }
    assert.ok(fits >= 3 && fits < 20, `${fits} rounds fit`);
    for (let r = 0; r < 25 && !c.status().finished; r++) runRound(c, regs, 2, tk);
    const s = c.status();
    assert.equal({ round: s.round, finished: s.finished, open: s.open }, { round: fits, finished: true, open: false });
    assert.ok(s.privacy!.epsilon <= 4);
    assert.match(s.privacy!.stopped ?? "", /privacy budget/);
    const reply = c.task(regs[0]!.client, regs[0]!.token);
    assert.equal(reply.kind === "wait" && reply.finished, true, "tasks: finished");
    // a restart with the flags replanned for 20 rounds (a larger σ) keeps the run's σ and stays finished
    const replanned = planDp({ epsilon: 4, delta: 1e-5, clip: 2, noise: "central" }, q, 20, true);
    assert.ok(replanned.noiseMultiplier > planned.noiseMultiplier);
    const again = await coordinator(t.dir, dpConfig(20, q, replanned), { minClients: 3, now: tk.now });
    assert.equal({ round: again.status().round, finished: again.status().finished, epsilon: again.status().privacy!.epsilon }, { round: fits, finished: true, epsilon: s.privacy!.epsilon });
  } finally {
    t.remove();
  }
});

test("an update over the clip bound gets 400 over-clip and changes nothing; one at the bound is taken", async () => {
  const t = tempDir();
  try {
    const c = await coordinator(t.dir, dpConfig(2, 1, dp(1)), { minClients: 2 });
    const regs = [await c.register(), await c.register()];
    assert.equal(regs[0]!.config.dp, { clip: 2, noise: "central", noiseMultiplier: 1 }, "the registration tells the device C and σ");
    const v = someValues(0);
    const d = deltaArrays(c.shape, v);
    const norm = updateNorm([d.shared, ...d.experts]);
    const scale = (2 * 1.001) / norm;
    const over = [d.shared, ...d.experts].map((p) => p.map((x) => x * scale));
    const before = c.status();
    try {
      c.submit(regs[0]!.client, regs[0]!.token, frame(0, over[0]!, over.slice(1), v.routes));
      assert.unreachable("over-clip accepted");
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      assert.is(`${e.status} ${e.code}`, "400 over-clip");
    }
    assert.equal(c.status(), before, "state unchanged");
    assert.equal(c.submit(regs[0]!.client, regs[0]!.token, clippedUpdate(c, 0, 0, 2)), { accepted: true, round: 0 });
  } finally {
    t.remove();
  }
});

test("a restarted coordinator resumes the accountant exactly (and the noise seed)", async () => {
  const once = tempDir();
  const twice = tempDir();
  try {
    const config = dpConfig(3, 0.7, dp(1.5));
    const run = async (dir: string, restartAfter: number | null) => {
      const tk = clock();
      let c = await coordinator(dir, config, { minClients: 4, now: tk.now });
      const regs = [];
      for (let i = 0; i < 4; i++) regs.push(await c.register());
      for (let r = 0; r < 3; r++) {
        if (r === restartAfter) {
          const eps = c.status().privacy!.epsilon;
          // the secret key comes from the checkpoint, not from the options
          c = await coordinator(dir, config, { minClients: 4, now: tk.now, dpSecretKey: [99, 0, 0, 0, 0, 0, 0, 0] });
          assert.is(c.status().privacy!.epsilon, eps, "resumed epsilon");
        }
        runRound(c, regs, 2, tk);
      }
      return { eps: c.status().privacy!.epsilon, values: c.globalValues() };
    };
    const a = await run(once.dir, null);
    const b = await run(twice.dir, 2);
    assert.is(b.eps, a.eps);
    assert.equal(b.values, a.values, "same sampling and noise after the restart");
  } finally {
    once.remove();
    twice.remove();
  }
});

test("the secret key: 256 bits from WebCrypto, kept in the checkpoint; a checkpoint with the former 32-bit seed gets a fresh key when resumed", async () => {
  const a = tempDir();
  const b = tempDir();
  try {
    const config = dpConfig(2, 1, dp(1));
    // no key given: a random one each
    await Coordinator.create({ config, schema: smallSchema(config), stateDir: a.dir, roundDeadlineMs: DEADLINE });
    await Coordinator.create({ config, schema: smallSchema(config), stateDir: b.dir, roundDeadlineMs: DEADLINE });
    const ka = loadState(a.dir)!.header.dpSecretKey!;
    const kb = loadState(b.dir)!.header.dpSecretKey!;
    assert.ok(ka.length === 8 && ka.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff), JSON.stringify(ka));
    assert.not.equal(ka, kb);
    // a checkpoint from before the key
    const old = loadState(a.dir)!;
    const header: Record<string, unknown> = { ...old.header, dpSecretSeed: 7 };
    delete header.dpSecretKey;
    saveState(a.dir, { ...old, header: header as unknown as typeof old.header });
    const lines: string[] = [];
    const resumed = await Coordinator.create({ config, schema: smallSchema(config), stateDir: a.dir, roundDeadlineMs: DEADLINE, log: (l) => lines.push(l) });
    assert.is(resumed.status().round, 0);
    assert.ok(lines.some((l) => l.startsWith("the checkpoint held no secret key")) && !lines.some((l) => l.startsWith("started in")), lines.join("\n"));
    const fresh = loadState(a.dir)!.header.dpSecretKey!;
    assert.ok(fresh.length === 8 && JSON.stringify(fresh) !== JSON.stringify(ka));
    // resumed again, with its key: nothing new
    lines.length = 0;
    await Coordinator.create({ config, schema: smallSchema(config), stateDir: a.dir, roundDeadlineMs: DEADLINE, log: (l) => lines.push(l) });
    assert.equal(loadState(a.dir)!.header.dpSecretKey, fresh);
    assert.ok(lines[0]!.startsWith("resumed from") && !lines.some((l) => l.startsWith("the checkpoint held no secret key") || l.startsWith("started in")), lines.join("\n"));
  } finally {
    a.remove();
    b.remove();
  }
});

/** ε after 1, 2, … `steps` rounds at (q, σ) with groups, δ 1e-5. */
function epsilons(q: number, sigma: number, steps: number): number[] {
  const ref = new RdpAccountant();
  return Array.from({ length: steps }, () => (ref.step(q, accountedNoise(sigma, true)), ref.epsilon(1e-5).epsilon));
}

/**
 * A coordinator whose state folder is also copied to `crashDir` right after round 0 is charged: that
 * copy is what a coordinator killed between the charge and the round's checkpoint leaves behind.
 */
async function crashingAfterCharge(dir: string, crashDir: string, config: ReturnType<typeof dpConfig>, t: ReturnType<typeof clock>) {
  let copied = false;
  const c = await coordinator(dir, config, {
    minClients: 3,
    now: t.now,
    log: (l) => {
      if (copied || !l.startsWith("round 0: charged")) return;
      cpSync(dir, crashDir, { recursive: true });
      copied = true;
    },
  });
  return { c, copied: () => copied };
}

test("a coordinator that stops after charging a round has spent it: resumed, it re-runs the round with fresh noise, charges it again, and stops at the budget", async () => {
  const t = tempDir();
  const crash = tempDir();
  try {
    const sigma = 1.2;
    const eps = epsilons(1, sigma, 3);
    // room for two charges, not three, of the ten rounds asked for
    const config = dpConfig(10, 1, dp(sigma, { epsilon: (eps[1]! + eps[2]!) / 2 }));
    const tk = clock();
    const first = await crashingAfterCharge(t.dir, crash.dir, config, tk);
    const regs = [await first.c.register(), await first.c.register(), await first.c.register()];
    runRound(first.c, regs, 2, tk);
    assert.ok(first.copied(), "round 0 was charged");
    // the release the crashed coordinator may have shown (same clipped updates as the re-run's)
    const released = first.c.globalValues();
    const lines: string[] = [];
    const again = await coordinator(crash.dir, config, { minClients: 3, now: tk.now, log: (l) => lines.push(l) });
    let s = again.status();
    assert.equal({ round: s.round, open: s.open, finished: s.finished, epsilon: s.privacy!.epsilon }, { round: 0, open: true, finished: false, epsilon: eps[0] });
    assert.ok(lines.includes("round 0 was charged to the privacy budget once and not applied (the coordinator stopped after charging it): it runs again with a fresh sample and noise, charged again"), lines.join("\n"));
    runRound(again, regs, 2, tk);
    s = again.status();
    assert.equal({ round: s.round, finished: s.finished, epsilon: s.privacy!.epsilon, last: [s.last!.epsilon, s.last!.charges] }, { round: 1, finished: true, epsilon: eps[1], last: [eps[1], 2] });
    assert.match(s.privacy!.stopped ?? "", /privacy budget: one more round would spend epsilon/);
    assert.ok(lines.some((l) => l.startsWith("round 0: charged to the privacy budget before its noise is added") && l.includes("(charge 2 of this round)") && l.includes(`epsilon spent ${eps[1]!.toFixed(4)}`)), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("round 0 closed") && l.includes(`epsilon spent ${eps[1]!.toFixed(4)}`)));
    // fresh central noise: the re-run's release differs from the crashed one's almost everywhere
    const rerun = again.globalValues();
    const same = rerun.filter((x, j) => x === released[j]).length;
    assert.ok(same < 0.01 * rerun.length, `${same} of ${rerun.length} values released twice with the same noise`);
    const saved = loadState(crash.dir)!.header;
    assert.equal([saved.dpCharged, saved.dpCharges], [undefined, 2], "applied: no charge pending, two in all");
  } finally {
    t.remove();
    crash.remove();
  }
});

test("a round charged before a crash with no budget left for a re-run is not run again: the run has finished", async () => {
  const t = tempDir();
  const crash = tempDir();
  try {
    const sigma = 1.2;
    const eps = epsilons(1, sigma, 2);
    const config = dpConfig(10, 1, dp(sigma, { epsilon: (eps[0]! + eps[1]!) / 2 }));
    const tk = clock();
    const first = await crashingAfterCharge(t.dir, crash.dir, config, tk);
    const regs = [await first.c.register(), await first.c.register(), await first.c.register()];
    runRound(first.c, regs, 2, tk);
    const lines: string[] = [];
    const again = await coordinator(crash.dir, config, { minClients: 3, now: tk.now, log: (l) => lines.push(l) });
    const s = again.status();
    assert.equal({ round: s.round, open: s.open, finished: s.finished, epsilon: s.privacy!.epsilon }, { round: 0, open: false, finished: true, epsilon: eps[0] });
    assert.match(s.privacy!.stopped ?? "", /privacy budget/);
    assert.ok(lines.some((l) => l.startsWith("round 0 was charged to the privacy budget once and not applied") && l.includes("no budget left to run it again")), lines.join("\n"));
    const reply = again.task(regs[0]!.client, regs[0]!.token);
    assert.equal(reply.kind === "wait" && reply.finished, true, "tasks: finished");
  } finally {
    t.remove();
    crash.remove();
  }
});

test("a charge that cannot be written charges nothing and holds the round; once the state folder takes writes again the round closes, charged once", async () => {
  const t = tempDir();
  try {
    const tk = clock();
    const c = await coordinator(t.dir, dpConfig(2, 1, dp(1.2)), { minClients: 3, now: tk.now });
    const regs = [await c.register(), await c.register(), await c.register()];
    for (const r of regs.slice(0, 2)) c.submit(r.client, r.token, clippedUpdate(c, 0, r.client, 2));
    // the checkpoint's temporary file cannot be created: a non-empty directory holds its name
    const blocker = join(t.dir, `coordinator.ffck.${process.pid}.tmp`);
    mkdirSync(join(blocker, "x"), { recursive: true });
    const onDisk = readFileSync(join(t.dir, "coordinator.ffck"));
    const last = regs[2]!;
    assert.throws(() => c.submit(last.client, last.token, clippedUpdate(c, 0, last.client, 2)), (e: unknown) => !(e instanceof ApiError));
    let s = c.status();
    assert.equal({ round: s.round, open: s.open, epsilon: s.privacy!.epsilon }, { round: 0, open: true, epsilon: 0 });
    assert.equal(readFileSync(join(t.dir, "coordinator.ffck")), onDisk, "the checkpoint changed");
    rmSync(blocker, { recursive: true });
    tk.advance(DEADLINE + 1);
    c.tick();
    s = c.status();
    assert.equal({ round: s.round, epsilon: s.privacy!.epsilon, charges: s.last!.charges }, { round: 1, epsilon: epsilons(1, 1.2, 1)[0], charges: undefined });
    // the update taken while the charge could not be written is in the round (the operator's checkpoint names it)
    assert.equal(loadState(t.dir)!.header.history[0]!.accepted, regs.map((r) => r.client));
  } finally {
    t.remove();
  }
});

test("DpRound.select: attempt 0 is the Poisson sample of the secret key's stream; a re-run's attempt draws independently of it", () => {
  const config = dpConfig(1, 0.5, dp(1));
  const shape = { sharedSize: 1, blocks: 0, layout: null };
  const d = new DpRound(config.dp!, config, shape, 0, KEY, false);
  const ids = Array.from({ length: 20 }, (_, i) => 3 * i + 1);
  let agree = 0;
  let n = 0;
  for (let round = 0; round < 100; round++) {
    const first = d.select(ids, round, 0);
    assert.equal(first, Array.from(poissonSampleFrom(20, 0.5, new KeyedStream(KEY, [Stream.Sample, round, 0])), (i) => ids[i]!));
    for (const draw of [1, 2]) {
      const again = new Set(d.select(ids, round, draw));
      for (const id of ids) agree += Number(again.has(id) === first.includes(id));
      n += ids.length;
    }
  }
  // independent draws at q = 0.5 agree on a client with probability 1/2: 4,000 pairs, SE 0.008
  assert.ok(Math.abs(agree / n - 0.5) < 0.04, `memberships agree in ${agree} of ${n}`);
});

test("serve options: --dp-epsilon plans σ at --client-ratio; local noise without --secure-aggregation and --clients-per-round are refused", () => {
  const base = ["--rounds", "5", "--data-spec", "synthetic:users=12,items=40", "--dp-epsilon", "4", "--dp-delta", "1e-5"];
  const c = serveConfig(parseServeArgs([...base, "--client-ratio", "0.5", "--dp-clip", "3"]));
  assert.equal(c.participation, { ratio: 0.5 });
  assert.equal(c.dp, planDp({ epsilon: 4, delta: 1e-5, clip: 3, noise: "central" }, 0.5, 5, true));
  assert.throws(() => serveConfig(parseServeArgs([...base, "--dp-noise", "local"])), (e: unknown) => e instanceof UsageError && /--dp-noise local needs --secure-aggregation/.test(e.message));
  assert.throws(() => serveConfig(parseServeArgs([...base, "--clients-per-round", "3"])), (e: unknown) => e instanceof UsageError && /--clients-per-round/.test(e.message));
});

test("clipUpdate: the joint norm ends at most C, the direction is kept, an update within C is untouched", () => {
  const part = fc.float32Array({ minLength: 0, maxLength: 40, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (parts, clip) => {
      const copy = parts.map((p) => p.slice());
      const before = updateNorm(parts);
      const returned = clipUpdate(copy, clip);
      assert.is(returned, before);
      const after = updateNorm(copy);
      assert.ok(after <= clip * (1 + 1e-6), `norm ${after} > ${clip}`);
      if (before <= clip) assert.equal(copy, parts);
      else {
        // every value scaled by the same factor (to f32 rounding, relative 1e-6 of the largest)
        const f = after / before;
        copy.forEach((p, i) => p.forEach((x, j) => assert.ok(Math.abs(x - parts[i]![j]! * f) <= 1e-6 * Math.abs(parts[i]![j]!) + 1e-30)));
      }
    }),
  );
  assert.is(clipUpdate([new Float32Array(0)], 1), 0, "zero-sized");
  assert.throws(() => clipUpdate([Float32Array.of(NaN)], 1), /not finite/);
  assert.throws(() => clipUpdate([Float32Array.of(1)], 0), /clip/);
  const huge = [Float32Array.of(3e38, 3e38)];
  clipUpdate(huge, 1);
  assert.ok(Math.abs(updateNorm(huge) - 1) < 1e-6, "huge values clip to C");
});

test.run();
