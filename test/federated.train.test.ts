// The round loop end to end on a small synthetic set: any worker count gives the same numbers bit
// for bit, a run stopped and resumed equals an uninterrupted one (predictions.json included), the
// reports have their shape, partial participation touches only the sampled clients, the baselines
// run, and the on-device scoring path agrees with evaluation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, type Regime, type TrainConfig } from "../src/federated/config.js";
import { DeviceScorer, deviceState } from "../src/federated/device.js";
import { sampleClients } from "../src/federated/sample.js";
import { loadArray } from "../src/federated/checkpoint.js";
import { ClientSlots } from "../src/federated/client-slots.js";
import { readRunCheckpoint, REPORT_HTML, REPORT_JSON, resumeTraining, train, type RoundRow, type TrainResult } from "../src/federated/trainer.js";
import { loadData, shareDataset } from "../src/federated/source.js";
import { PREDICTIONS_JSON, readPredictions, type PredictionsFile } from "../src/federated/predictions-file.js";
import { auc } from "../src/metrics/auc.js";
import { logLoss } from "../src/metrics/logloss.js";
import { startExecutor } from "../src/federated/pool.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-train-"));
  dirs.push(d);
  return d;
}

function small(regime: Regime = "mrff", rounds = 4): TrainConfig {
  const c = defaultConfig(regime);
  c.data = { kind: "synthetic", options: { users: 48, items: 300, maxHistory: 40 } };
  c.model = { ...c.model, maxlen: 16, fieldDim: 4, groups: 3, mlp: [16], clickInput: true };
  c.rounds = rounds;
  c.chunk = 8;
  c.bootstrap = 100;
  return c;
}

/** A report's rounds without the wall times. */
const numbers = (rows: RoundRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);

function sameArrays(a: string, b: string): void {
  const x = readRunCheckpoint(a);
  const y = readRunCheckpoint(b);
  assert.equal(Object.keys(x.arrays), Object.keys(y.arrays));
  for (const name of Object.keys(x.arrays)) {
    const p = loadArray(x.arrays[name]!);
    const q = loadArray(y.arrays[name]!);
    // local training has no global values
    if (name === "privates" || (name === "global" && x.header.config.regime !== "local")) assert.ok(p.length > 0, `${name} is empty`);
    assert.equal(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), new Uint8Array(q.buffer, q.byteOffset, q.byteLength), `${name} differs`);
  }
}

let inProcess: { out: string; result: TrainResult };

test("workers 0 and 2 give bit-identical parameters, routing shares and metrics", async () => {
  const a = tmp();
  const b = tmp();
  inProcess = { out: a, result: await train(small(), { workers: 0, out: a }) };
  const threads = await train(small(), { workers: 2, out: b });
  assert.is(inProcess.result.report.workers, 1);
  assert.is(threads.report.workers, 2);
  assert.equal(numbers(threads.report.rounds), numbers(inProcess.result.report.rounds));
  assert.equal(threads.report.best, inProcess.result.report.best);
  sameArrays(a, b);
});

// local training: every client's whole model lives in the clients' slot file and the checkpoint
for (const server of ["avg", "adam", "local"] as const) {
  test(`a run stopped after round 2 and resumed ends where an uninterrupted run does (${server === "local" ? "local training" : `server ${server}`})`, async () => {
    const config = () => {
      const c = small(server === "local" ? "local" : "mrff");
      // FedAdam's moments and step counts must carry over too
      if (server === "adam") Object.assign(c, { local: { ...c.local, optimizer: "sgd", lr: 0.5 }, server: { ...c.server, optimizer: "adam" } });
      return c;
    };
    const whole = server === "avg" ? inProcess : { out: tmp(), result: undefined as unknown as TrainResult };
    if (server !== "avg") whole.result = await train(config(), { workers: 0, out: whole.out });
    const out = tmp();
    const stop = new AbortController();
    const first = await train(config(), { workers: 2, out, signal: stop.signal, onRound: (row) => row.round === 2 && stop.abort() });
    assert.is(first.report.rounds.length, 2);
    assert.is(first.report.completed, false);
    const resumed = await resumeTraining(out, { workers: 0 });
    assert.is(resumed.report.completed, true);
    assert.equal(numbers(resumed.report.rounds), numbers(whole.result.report.rounds));
    assert.equal(resumed.report.best, whole.result.report.best);
    sameArrays(out, whole.out);
    assert.is(readFileSync(join(out, PREDICTIONS_JSON), "utf8"), readFileSync(join(whole.out, PREDICTIONS_JSON), "utf8"), "predictions.json");
    if (server !== "avg") return;
    // more rounds can be asked of a finished run
    const longer = await resumeTraining(out, { workers: 0, rounds: 5 });
    assert.is(longer.report.rounds.length, 5);
    assert.equal(numbers(longer.report.rounds.slice(0, 4)), numbers(whole.result.report.rounds));
  });
}

test("report.json has its documented shape; report.html is one page that loads nothing", () => {
  const r = JSON.parse(readFileSync(join(inProcess.out, REPORT_JSON), "utf8"));
  for (const k of ["config", "dataset", "rounds", "best", "peak_rss_mb"]) assert.ok(k in r, k);
  assert.is(r.config.regime, "mrff");
  for (const k of ["users", "items", "interactions", "skipped"]) assert.type(r.dataset[k], "number", `dataset.${k}`);
  assert.is(r.dataset.users, 48);
  assert.is(r.rounds.length, 4);
  r.rounds.forEach((row: Record<string, number>, i: number) => {
    assert.is(row.round, i + 1);
    for (const k of ["seconds", "val_auc", "val_logloss", "test_auc", "test_logloss"]) assert.type(row[k], "number", `rounds[${i}].${k}`);
  });
  const b = r.best;
  const best = r.rounds.reduce((x: Record<string, number>, y: Record<string, number>) => (y.val_auc > x.val_auc ? y : x));
  assert.is(b.round, best.round);
  assert.is(b.val_auc, best.val_auc);
  assert.is(b.test_auc, best.test_auc);
  assert.is(b.test_logloss, best.test_logloss);
  assert.ok(b.test_auc_ci.length === 2 && b.test_auc_ci[0] <= b.test_auc && b.test_auc <= b.test_auc_ci[1], JSON.stringify(b.test_auc_ci));
  assert.ok(r.peak_rss_mb > 0);
  const html = readFileSync(join(inProcess.out, REPORT_HTML), "utf8");
  assert.match(html, /^<!doctype html>/);
  assert.is((html.match(/<svg/g) ?? []).length, 2, "AUC and LogLoss charts");
  assert.not.match(html, /https?:|<script|<link|src=/);
});

test("predictions.json holds every user's scores of the best-validation round: its metrics are the report's best", () => {
  const p = readPredictions(inProcess.out);
  const best = inProcess.result.report.best!;
  assert.is(p.round, best.round);
  assert.is(p.users.length, 48);
  assert.equal(p.users, [...new Set(p.users)].sort((a, b) => a - b), "each user once, by raw id");
  assert.is(auc(p.valid.score, p.valid.label), best.val_auc);
  assert.is(auc(p.test.score, p.test.label), best.test_auc);
  assert.is(logLoss(p.test.score, p.test.label), best.test_logloss);
});

test("readPredictions names the bad field of a damaged file", () => {
  const good = readPredictions(inProcess.out);
  const cases: [(f: PredictionsFile) => void, RegExp][] = [
    [(f) => (f.format = 2 as 1), /format 2 is not supported/],
    [(f) => (f.test.label[3] = 2), /test\.label\[3\] is 2, not 0 or 1/],
    [(f) => (f.valid.score[5] = null as unknown as number), /valid\.score\[5\] is null/],
    [(f) => f.test.score.pop(), /test\.score must be an array of 48 numbers/],
  ];
  for (const [damage, message] of cases) {
    const f = structuredClone(good);
    damage(f);
    const path = join(tmp(), "bad.json");
    writeFileSync(path, JSON.stringify(f));
    assert.throws(() => readPredictions(path), message);
  }
});

test("a run started over in a folder drops the previous run's predictions; resumed, it writes the uninterrupted run's", async () => {
  const out = tmp();
  await train(small("mrff", 1), { workers: 0, out });
  assert.ok(existsSync(join(out, PREDICTIONS_JSON)));
  // evaluated at round 2 only: the part before the stop has no predictions, the resumed part writes them
  const c = { ...small("mrff", 2), evalEvery: 2 };
  const stop = new AbortController();
  await train(c, { workers: 0, out, signal: stop.signal, onRound: () => stop.abort() });
  assert.not.ok(existsSync(join(out, PREDICTIONS_JSON)));
  await resumeTraining(out, { workers: 0 });
  const whole = tmp();
  await train(c, { workers: 0, out: whole });
  assert.is(readPredictions(out).round, 2);
  assert.is(readFileSync(join(out, PREDICTIONS_JSON), "utf8"), readFileSync(join(whole, PREDICTIONS_JSON), "utf8"));
});

test("with a sample of clients per round only the sampled clients' private values change", async () => {
  const out = tmp();
  const c = small("mrff", 1);
  c.participation = { count: 5 };
  await train(c, { workers: 0, out });
  const ck = readRunCheckpoint(out);
  const P = ck.header.params.private;
  const privates = loadArray(ck.arrays.privates!);
  const sampled = new Set(sampleClients(48, c.participation, c.seed, 1));
  // every client starts from the same private values: the unsampled ones still hold them
  const untouched = [...Array(48).keys()].filter((u) => !sampled.has(u));
  const init = privates.subarray(untouched[0]! * P, (untouched[0]! + 1) * P);
  for (let u = 0; u < 48; u++) {
    const same = privates.subarray(u * P, (u + 1) * P).every((v, j) => Object.is(v, init[j]));
    assert.is(same, !sampled.has(u), `client ${u} (sampled: ${sampled.has(u)})`);
  }
});

test("local training keeps everything private; central trains one model; both evaluate", async () => {
  for (const regime of ["local", "central"] as const) {
    const out = tmp();
    const r = await train(small(regime, 2), { workers: 2, out });
    assert.is(r.report.rounds.length, 2, regime);
    for (const row of r.report.rounds) assert.ok(Number.isFinite(row.test_auc) && Number.isFinite(row.val_logloss), `${regime} ${JSON.stringify(row)}`);
    const ck = readRunCheckpoint(out);
    if (regime === "local") {
      assert.equal([r.report.params.shared, r.report.params.group], [0, 0]);
      assert.is(ck.arrays.global!.length, 0);
    } else {
      assert.is(r.report.workers, 1);
      assert.ok(existsSync(join(out, REPORT_JSON)));
    }
  }
});

test("the on-device scorer gives a user's test prediction as evaluation computed it", async () => {
  const ck = readRunCheckpoint(inProcess.out);
  const ds = loadData(ck.header.config.data);
  const F = ds.userFields.length;
  const preds = inProcess.result.predictions!;
  for (const u of [0, 17, 47]) {
    const scorer = await DeviceScorer.create(deviceState(ck, u));
    const start = ds.seqStart[u]!;
    const end = ds.seqStart[u + 1]!;
    const [p] = scorer.score({
      history: ds.seqItems.subarray(start, end - 1),
      clicks: ds.seqLabels.subarray(start, end - 1),
      userCodes: ds.userFeatures.subarray(u * F, (u + 1) * F),
      itemFeatures: ds.itemFeatures,
      candidates: [ds.seqItems[end - 1]!],
    });
    assert.ok(Math.abs(p! - preds.test[u]!) < 1e-5, `user ${u}: device ${p}, evaluation ${preds.test[u]}`);
    scorer.dispose();
  }
  assert.throws(() => deviceState(ck, 48), /no user 48/);
});

test("a worker that cannot start fails the run with its error; so does the in-process runner", async () => {
  const c = small();
  const be = await loadWasmBackend();
  const slots = ClientSlots.create(1, 48);
  const init = {
    data: shareDataset(loadData(c.data)),
    model: c.model,
    allPrivate: false,
    seed: 1,
    simd: be.level,
    local: c.local,
    weighting: c.weighting,
    deltas: false,
    global: new SharedArrayBuffer(4),
    privates: slots.file,
    compression: c.compression,
    residuals: null,
    privateStates: slots.file,
  };
  try {
    for (const workers of [0, 2]) {
      try {
        await startExecutor(init, workers);
        assert.unreachable("started");
      } catch (e) {
        assert.match(String(e), /global buffer holds 1 values, the model has \d+/, `workers ${workers}`);
      }
    }
  } finally {
    slots.close();
  }
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
