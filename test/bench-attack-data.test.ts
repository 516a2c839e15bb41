// The attack bench's data and exposure helpers: the poisoned copy of a data set adds exactly the
// attackers' clicks on the target (targetClicks counts them), and the values of a central run score
// every user with its one model (modelValues, exposure), as a per-user copy of them would.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickTarget, targetClicks, writePoisonedFolder } from "../bench/attack-data.js";
import { candidateSet, exposure, modelValues } from "../bench/exposure.js";
import { readFolder, writeFolder } from "../src/data/folder.js";
import { generateSynthetic } from "../src/data/synthetic.js";
import { CentralEngine } from "../src/federated/central-engine.js";
import { defaultConfig } from "../src/federated/config.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";

const SMALL = { users: 40, items: 300, minHistory: 10, maxHistory: 30 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "fedfacet-attack-data-"));
  dirs.push(d);
  return d;
};

test("targetClicks: the poisoned copy adds count × length/2 clicks on the target, by count more users; real users unchanged", () => {
  const src = join(tmp(), "real");
  writeFolder(src, generateSynthetic(SMALL).raw, "synthetic");
  const real = readFolder(src);
  // the field of 80 values: ~4 catalogue items per value
  const target = pickTarget(real, real.itemFields[4]!.name, 2, 40);
  const clean = targetClicks(real, target);
  assert.ok(clean.users <= clean.clicks && clean.users <= real.numUsers);
  const fake = { count: 7, length: 30, seed: 5 };
  const dir = join(tmp(), "poisoned");
  writePoisonedFolder(src, dir, real, target, fake);
  const poisoned = readFolder(dir);
  assert.is(poisoned.numUsers, real.numUsers + fake.count);
  assert.equal(targetClicks(poisoned, target), { clicks: clean.clicks + (fake.count * fake.length) / 2, users: clean.users + fake.count });
  // the real users come first and their histories are the same
  const realEnd = real.seqStart[real.numUsers]!;
  assert.equal(poisoned.seqItems.subarray(0, realEnd), real.seqItems);
  assert.equal(poisoned.seqLabels.subarray(0, realEnd), real.seqLabels);
});

test("targetClicks: no clicks on the target, nobody counted", () => {
  const ds = readFolderOf(generateSynthetic(SMALL).raw);
  const none = { field: "none", code: -1, items: new Int32Array(0), impressions: 0 };
  assert.equal(targetClicks(ds, none), { clicks: 0, users: 0 });
});

test("modelValues: a central run is one model for every user; its exposure equals that of a per-user copy of its values", async () => {
  const c = defaultConfig("central");
  c.data = { kind: "synthetic", options: SMALL };
  const engine = await CentralEngine.create(c);
  await engine.trainRound(1, () => {});
  const v = modelValues(engine);
  const { shared, group, private: P } = engine.params;
  assert.ok(v.oneModel);
  assert.is(v.global.length, shared + group);
  assert.is(v.privates.length, P);
  const ds = engine.ds;
  const n = ds.numUsers;
  const copies = new Float32Array(n * P);
  for (let u = 0; u < n; u++) copies.set(v.privates, u * P);
  const be = await loadWasmBackend();
  const targets = pickTarget(ds, ds.itemFields[4]!.name, 2, 40).items;
  const candidates = candidateSet(ds, targets, 20, 1);
  const one = await exposure(be, c.model, ds, v, n, candidates, targets.length);
  const each = await exposure(be, c.model, ds, { global: v.global, privates: copies, shared, private: P }, n, candidates, targets.length);
  assert.is(one, each);
  // users' histories tell them apart: neither nobody nor everybody is exposed, so the two paths were compared on something
  assert.ok(one > 0 && one < 1, `exposure ${one}`);
  await engine.close();
});

test("modelValues: a federated run holds every client's private values", async () => {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: SMALL };
  const engine = await FederatedEngine.create(c, 0);
  try {
    const v = modelValues(engine);
    assert.not.ok(v.oneModel);
    assert.is(v.global.length, engine.params.shared + engine.params.group);
    assert.is(v.privates.length, engine.ds.numUsers * engine.params.private);
  } finally {
    await engine.close();
  }
});

function readFolderOf(raw: ReturnType<typeof generateSynthetic>["raw"]) {
  const dir = join(tmp(), "data");
  writeFolder(dir, raw, "synthetic");
  return readFolder(dir);
}

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
