// Compressed client updates in the in-process trainer: the wire path is bit-identical for any
// worker count and across a stop and resume (the error-feedback residuals are checkpointed), the
// byte counts are the frames' sizes, a top-k that keeps everything reproduces the uncompressed run
// to rounding, and lossy settings send far fewer bytes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfig, defaultConfig, type Compression, type TrainConfig } from "../src/federated/config.js";
import { readRunCheckpoint, resumeTraining, train, type RoundRow } from "../src/federated/trainer.js";
import { loadArray } from "../src/federated/checkpoint.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-compress-"));
  dirs.push(d);
  return d;
}

function small(compression: Compression, rounds = 3): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 40, items: 300, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 12, fieldDim: 4, groups: 3, mlp: [16] };
  c.rounds = rounds;
  c.chunk = 8;
  c.bootstrap = 50;
  c.compression = compression;
  return c;
}

const numbers = (rows: RoundRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);
const TOPK_INT8: Compression = { kind: "topk-int8", k: 0.05, block: 64 };

test("compressed updates: workers 0 and 2 agree bit for bit, and a resumed run equals an uninterrupted one", async () => {
  const whole = tmp();
  const a = await train(small(TOPK_INT8), { workers: 0, out: whole });
  const b = await train(small(TOPK_INT8), { workers: 2 });
  assert.equal(numbers(b.report.rounds), numbers(a.report.rounds));
  const out = tmp();
  const stop = new AbortController();
  await train(small(TOPK_INT8), { workers: 2, out, signal: stop.signal, onRound: (row) => row.round === 1 && stop.abort() });
  const resumed = await resumeTraining(out, { workers: 0 });
  assert.equal(numbers(resumed.report.rounds), numbers(a.report.rounds));
  const x = readRunCheckpoint(whole).arrays;
  const y = readRunCheckpoint(out).arrays;
  for (const name of ["global", "privates", "residuals"]) {
    assert.ok(x[name]!.length > 0, name);
    assert.equal(Array.from(loadArray(y[name]!)), Array.from(loadArray(x[name]!)), `${name} after resuming`);
  }
  assert.ok(loadArray(x.residuals!).some((v) => v !== 0), "error feedback kept something");
});

test("bytes: the f32 uplink is the raw frames; top-k + int8 sends > 10x less; the downlink is the same", async () => {
  const raw = await train(small({ kind: "f32" }, 2), { workers: 0 });
  const lossy = await train(small(TOPK_INT8, 2), { workers: 0 });
  const { shared, group } = raw.report.params;
  const blocks = raw.report.config.model.blocks;
  const expert = group / (blocks * raw.report.config.model.groups);
  for (const [i, row] of raw.report.rounds.entries()) {
    const clients = 40;
    // per client: header 14 + table (shared, 2 experts, routes, meta) + payloads + CRC 4
    const table = 10 * 5 + "shared".length + 2 * "group.0.0".length + "routes".length + "meta".length;
    const up = Math.ceil((14 + table) / 4) * 4 + 4 * (shared + blocks * expert + blocks + 2) + 4;
    assert.is(row.bytes_up, clients * up, `round ${i + 1} uplink`);
    const taskTable = 10 * 4 + "shared".length + "group".length + "groupShare".length + "meta".length;
    const down = Math.ceil((14 + taskTable) / 4) * 4 + 4 * (shared + group + blocks * 3 + 1) + 4;
    assert.is(row.bytes_down, clients * down, `round ${i + 1} downlink`);
    assert.is(lossy.report.rounds[i]!.bytes_down, row.bytes_down);
    assert.ok(lossy.report.rounds[i]!.bytes_up! * 10 < row.bytes_up!, `round ${i + 1}: ${lossy.report.rounds[i]!.bytes_up} vs ${row.bytes_up}`);
  }
});

test("a top-k that keeps every entry reproduces the uncompressed run up to f32 rounding of the deltas", async () => {
  const raw = await train(small({ kind: "f32" }), { workers: 0 });
  const all = await train(small({ kind: "topk", k: 1e6 }), { workers: 0 });
  raw.report.rounds.forEach((r, i) => {
    const s = all.report.rounds[i]!;
    assert.ok(Math.abs(r.test_auc! - s.test_auc!) < 1e-3 && Math.abs(r.train_loss - s.train_loss) < 1e-4, `round ${i + 1}: ${JSON.stringify([r, s])}`);
  });
});

test("compression settings are checked", () => {
  const bad = (z: unknown, re: RegExp) => assert.throws(() => checkConfig({ ...small({ kind: "f32" }), compression: z as Compression }), re);
  bad({ kind: "zip" }, /compression must be one of/);
  bad({ kind: "topk", k: 0 }, /k must be a fraction in \(0, 1\) or a positive integer/);
  bad({ kind: "topk", k: 2.5 }, /k must be/);
  bad({ kind: "int8", block: 0 }, /block must be a positive integer/);
  assert.throws(() => checkConfig({ ...defaultConfig("central"), compression: { kind: "int8", block: 8 } }), /applies to the federated regimes/);
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
