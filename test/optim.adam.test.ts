// The Adam optimiser over a ParamStore's partition buffers: one step moves every parameter with a
// gradient by lr·sign(g) (the first step of Adam), reset() makes the next step a first step again,
// only the chosen partitions move, and save/load restores the state exactly.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { constantInit } from "../src/autograd/init.js";
import { ParamStore, type ParamSpec } from "../src/autograd/params.js";
import { Adam, ADAM_DEFAULTS } from "../src/optim/adam.js";
import { Rng } from "../src/util/rng.js";
import { wasmBackends } from "./helpers.js";

const SPECS: ParamSpec[] = [
  { name: "s", partition: "shared", shape: [6], init: constantInit(1) },
  { name: "g", partition: "group", shape: [3], init: constantInit(2) },
  { name: "p", partition: "private", shape: [5], init: constantInit(3) },
];

async function store(): Promise<ParamStore> {
  const [be] = await wasmBackends();
  return new ParamStore(be!, SPECS, new Rng(1));
}

function setGrads(ps: ParamStore, g: number): void {
  for (const name of ["s", "g", "p"]) {
    const t = ps.get(name);
    ps.be.f.fill(g, t.grad, t.grad + t.size);
  }
}

const values = (ps: ParamStore, name: string) => Array.from(ps.be.f.subarray(ps.get(name).offset, ps.get(name).offset + ps.get(name).size));

test("a first step moves by lr·sign(g); after reset the next step is a first step again", async () => {
  const ps = await store();
  const adam = new Adam(ps, { ...ADAM_DEFAULTS, lr: 0.1 });
  setGrads(ps, 0.003);
  adam.step();
  for (const v of values(ps, "s")) assert.ok(Math.abs(v - 0.9) < 1e-6, `s ${v}`);
  // a second step with the opposite gradient: m̂ is pulled towards zero, the move is smaller than lr
  setGrads(ps, -0.003);
  adam.step();
  const after2 = values(ps, "s")[0]!;
  assert.ok(after2 > 0.9 && after2 < 1.0 - 1e-3, `second step ${after2}`);
  adam.reset();
  assert.is(adam.steps, 0);
  adam.step();
  assert.ok(Math.abs(values(ps, "s")[0]! - (after2 + 0.1)) < 1e-6, "fresh moments: a full lr step");
});

test("only the chosen partitions move", async () => {
  const ps = await store();
  const adam = new Adam(ps, { ...ADAM_DEFAULTS, lr: 0.5 }, ["private"]);
  setGrads(ps, 1);
  adam.step();
  assert.equal(values(ps, "s"), [1, 1, 1, 1, 1, 1]);
  assert.equal(values(ps, "g"), [2, 2, 2]);
  for (const v of values(ps, "p")) assert.ok(Math.abs(v - 2.5) < 1e-6);
});

test("save / load restores moments and step count exactly", async () => {
  const a = await store();
  const b = await store();
  const adamA = new Adam(a, { ...ADAM_DEFAULTS, lr: 0.01 });
  const adamB = new Adam(b, { ...ADAM_DEFAULTS, lr: 0.01 });
  for (const g of [0.5, -0.25, 2]) {
    setGrads(a, g);
    adamA.step();
  }
  for (const name of ["s", "g", "p"]) b.be.f.set(a.be.f.subarray(a.get(name).offset, a.get(name).offset + a.get(name).size), b.get(name).offset);
  adamB.load(adamA.save());
  assert.is(adamB.steps, 3);
  setGrads(a, 1.5);
  setGrads(b, 1.5);
  adamA.step();
  adamB.step();
  for (const name of ["s", "g", "p"]) assert.equal(values(b, name), values(a, name), name);
  assert.throws(() => adamB.load({ steps: 1, moments: new Float32Array(3) }), /3 values, expected/);
});

test("bad settings are rejected naming the setting", async () => {
  const ps = await store();
  assert.throws(() => new Adam(ps, { ...ADAM_DEFAULTS, lr: 0 }), /lr must be positive/);
  assert.throws(() => new Adam(ps, { ...ADAM_DEFAULTS, lr: 0.1, beta2: 1 }), /beta2 must be in \[0, 1\)/);
  assert.throws(() => new Adam(ps, { ...ADAM_DEFAULTS, lr: 0.1, weightDecay: -1 }), /weightDecay/);
});

test.run();
