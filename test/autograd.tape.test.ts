// The tape and the parameter store: lazy zeroed activation gradients, reverse-order backward,
// views sharing gradients, skipping of unreached ops, flat partition layout and seeded init.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Arena } from "../src/kernels/arena.js";
import { NONE } from "../src/kernels/kernels.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { Rng } from "../src/util/rng.js";
import { Tape } from "../src/autograd/tape.js";
import { Tensor } from "../src/autograd/tensor.js";
import { ParamStore, type ParamSpec } from "../src/autograd/params.js";
import { constantInit, normalInit, segmentsInit, uniformInit } from "../src/autograd/init.js";
import { add, addBroadcast } from "../src/autograd/ops/add.js";
import { scale } from "../src/autograd/ops/scale.js";
import { maskRows } from "../src/autograd/ops/mask.js";
import { reshape, sliceRows } from "../src/autograd/ops/view.js";

function fresh(): { be: RefBackend; tp: Tape } {
  const be = new RefBackend("f64");
  return { be, tp: new Tape(be, new Arena(be, 256)) };
}

const read = (be: RefBackend, off: number, n: number): number[] => Array.from(be.f.subarray(off, off + n));

const specs: ParamSpec[] = [
  { name: "a", partition: "shared", shape: [2, 3], init: normalInit(1) },
  { name: "g", partition: "group", shape: [5], init: uniformInit(0.5) },
  { name: "b", partition: "shared", shape: [3], init: constantInit(2) },
  { name: "u", partition: "private", shape: [1], init: segmentsInit([[1, constantInit(-1)]]) },
];

test("ParamStore lays partitions out flat and aligned, with mirrored gradients", () => {
  const be = new RefBackend("f64");
  const ps = new ParamStore(be, specs, new Rng(3));
  assert.equal(ps.names(), ["a", "g", "b", "u"]);
  assert.equal(ps.names("shared"), ["a", "b"]);
  assert.is(ps.slice("a").start, 0);
  assert.is(ps.slice("b").start, 8); // 6 rounded up to 16 bytes
  assert.is(ps.buffer("shared").size, 12);
  assert.is(ps.buffer("group").size, 8);
  for (const name of ps.names()) {
    const t = ps.get(name);
    const s = ps.slice(name);
    const buf = ps.buffer(s.partition);
    assert.is(t.offset, buf.values + s.start);
    assert.is(t.grad, buf.grads + s.start);
    assert.ok(t.requiresGrad);
  }
  assert.equal(read(be, ps.get("b").offset, 3), [2, 2, 2]);
  assert.equal(read(be, ps.get("u").offset, 1), [-1]);
  // the alignment gap stays zero
  assert.equal(read(be, ps.buffer("shared").values + 6, 2), [0, 0]);
  be.f.fill(5, ps.buffer("group").grads, ps.buffer("group").grads + 8);
  ps.zeroGrads("shared");
  assert.is(be.f[ps.buffer("group").grads], 5);
  ps.zeroGrads();
  assert.is(be.f[ps.buffer("group").grads], 0);
});

test("ParamStore init is a function of the seed only, on every backend", () => {
  const x = new ParamStore(new RefBackend("f64"), specs, new Rng(9));
  const y = new ParamStore(new RefBackend("f32"), specs, new Rng(9));
  const z = new ParamStore(new RefBackend("f64"), specs, new Rng(10));
  const vals = (ps: ParamStore) => read(ps.be as RefBackend, ps.get("a").offset, 6);
  assert.equal(vals(y), vals(x).map(Math.fround));
  assert.not.equal(vals(x), vals(z));
});

test("ParamStore rejects duplicates, bad shapes and wrong init sizes", () => {
  const be = new RefBackend("f64");
  assert.throws(() => new ParamStore(be, [specs[0]!, specs[0]!], new Rng(1)), /duplicate/);
  assert.throws(() => new ParamStore(be, [{ ...specs[0]!, shape: [2, -1] }], new Rng(1)), /bad shape/);
  assert.throws(() => new ParamStore(be, [{ ...specs[0]!, init: segmentsInit([[2, constantInit(0)]]) }], new Rng(1)), /segmentsInit/);
  assert.throws(() => new ParamStore(be, specs, new Rng(1)).get("nope"), /no parameter/);
});

test("backward seeds 1, runs closures in reverse and accumulates a tensor used twice", () => {
  const { be, tp } = fresh();
  const ps = new ParamStore(be, [{ name: "x", partition: "shared", shape: [1], init: constantInit(3) }], new Rng(1));
  const x = ps.get("x");
  // y = 2·(x + x) + x  →  dy/dx = 5
  const y = add(tp, scale(tp, add(tp, x, x), 2), x);
  assert.is(be.f[y.offset], 15);
  assert.is(tp.length, 3);
  tp.backward(y);
  assert.is(be.f[x.grad], 5);
  assert.is(tp.length, 0);
});

test("activation gradients are lazy and zeroed; ops not reaching the output are skipped", () => {
  const { be, tp } = fresh();
  const ps = new ParamStore(be, [{ name: "x", partition: "shared", shape: [4], init: constantInit(1) }], new Rng(1));
  const x = ps.get("x");
  const unused = scale(tp, x, 7);
  const y = scale(tp, x, 3);
  assert.is(y.grad, NONE);
  tp.backward(y, [1, 1, 1, 1]);
  assert.is(unused.grad, NONE, "an op whose output got no gradient ran its backward");
  assert.equal(read(be, x.grad, 4), [3, 3, 3, 3]);
});

test("views share memory and gradient with their base", () => {
  const { be, tp } = fresh();
  const ps = new ParamStore(be, [{ name: "x", partition: "shared", shape: [3, 2], init: constantInit(1) }], new Rng(1));
  const x = ps.get("x");
  const rows = sliceRows(tp, x, 1, 3);
  assert.equal(rows.shape, [2, 2]);
  assert.is(rows.offset, x.offset + 2);
  const flat = reshape(tp, rows, [4]);
  const y = scale(tp, flat, 2);
  tp.backward(y, [1, 2, 3, 4]);
  assert.equal(read(be, x.grad, 6), [0, 0, 2, 4, 6, 8]);
  assert.throws(() => reshape(tp, x, [5]), /changes the size/);
  assert.throws(() => sliceRows(tp, x, 2, 4), /sliceRows/);
});

test("constants take no gradient; backward needs a scalar or a seed", () => {
  const { be, tp } = fresh();
  const c = tp.constant([1, 2, 3]);
  const d = tp.constant([1, 1, 1]);
  const s = add(tp, c, d);
  assert.not.ok(s.requiresGrad);
  assert.is(tp.length, 0);
  assert.throws(() => tp.backward(s), /does not depend/);
  const ps = new ParamStore(be, [{ name: "v", partition: "shared", shape: [3], init: constantInit(0) }], new Rng(1));
  const y = addBroadcast(tp, tp.constant([1, 2, 3, 4, 5, 6], [2, 3]), ps.get("v"));
  assert.throws(() => tp.backward(y), /seed is needed/);
  assert.throws(() => tp.backward(y, [1]), /seed of 1/);
  tp.backward(y, [1, 2, 3, 4, 5, 6]);
  assert.equal(read(be, ps.get("v").grad, 3), [5, 7, 9]);
  assert.throws(() => tp.grad(tp.indices([0, 1])), /index tensors/);
  assert.throws(() => scale(tp, tp.indices([0, 1]), 2), /not a differentiable input/);
  assert.throws(() => maskRows(tp, tp.constant([1, 2], [2, 1]), tp.indices([1, 0])), /i32 tensor/);
});

test("when not recording, ops compute values and record nothing", () => {
  const { be, tp } = fresh();
  const ps = new ParamStore(be, [{ name: "x", partition: "shared", shape: [2], init: constantInit(2) }], new Rng(1));
  tp.recording = false;
  const y = scale(tp, ps.get("x"), 3);
  assert.not.ok(y.requiresGrad);
  assert.is(tp.length, 0);
  assert.equal(read(be, y.offset, 2), [6, 6]);
});

test("reset makes the arena start over; Tensor rejects bad shapes", () => {
  const { tp } = fresh();
  const a = tp.constant([1, 2]);
  tp.reset();
  const b = tp.constant([3, 4]);
  assert.is(b.offset, a.offset);
  assert.throws(() => new Tensor(0, [2, 1.5]), /bad shape/);
  assert.throws(() => new Tensor(0, [2], NONE, true, "i32"), /cannot require/);
  assert.is(new Tensor(0, [4, 3]).rows, 4);
  assert.is(new Tensor(0, []).size, 1);
});

test.run();
