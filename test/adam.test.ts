// AdamW over several steps against closed forms that do not depend on the reference
// implementation, on every backend: bias correction makes a constant gradient move each parameter
// by lr·g/(|g| + eps) per step from the first step on, whatever the gradient's scale; and the
// weight decay is decoupled, so with a zero gradient the parameter only shrinks by (1 − lr·wd).
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Backend } from "../src/kernels/backend.js";
import { readF, upload } from "../src/kernels/backend.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { wasmBackends } from "./helpers.js";

async function backends(): Promise<Backend[]> {
  return [new RefBackend("f32"), ...(await wasmBackends())];
}

const lr = 0.1;
const beta1 = 0.9;
const beta2 = 0.999;
const eps = 1e-8;

test("constant gradient: every step moves p by lr·g/(|g| + eps), at any scale", async () => {
  // gradients from 1e-6 to 1e6, both signs, and a tail past a multiple of four
  const grads = [1e-6, -1e-6, 1e-3, -0.5, 1, 3, -7, 1e3, -1e6, 2.5, -1e4];
  const p0 = grads.map((_, j) => j - 5);
  const steps = 20;
  for (const be of await backends()) {
    const p = upload(be, p0);
    const g = upload(be, grads);
    const m = be.alloc(grads.length);
    const v = be.alloc(grads.length);
    for (let t = 1; t <= steps; t++) be.adamStep(p, g, m, v, grads.length, lr, beta1, beta2, eps, 0, t);
    const got = readF(be, p, grads.length);
    for (let j = 0; j < grads.length; j++) {
      const gj = grads[j]!;
      const want = p0[j]! - steps * lr * (gj / (Math.abs(gj) + eps));
      // m̂ and v̂ equal g and g² up to f32 rounding (a few 2⁻²⁴ per step), so each step's move
      // of lr is right to ~1e-6 relative; p itself rounds to f32 after every step
      assert.ok(Math.abs(got[j]! - want) <= steps * (lr * 1e-6 + 6e-8 * Math.abs(want)), `${be.name} p[${j}] = ${got[j]}, want ${want}`);
    }
    for (const off of [p, g, m, v]) be.free(off);
  }
});

test("decoupled weight decay: a zero gradient only shrinks p by (1 − lr·wd) per step", async () => {
  const p0 = [1, -2, 0.5, 4, -3];
  const wd = 0.05;
  const steps = 10;
  for (const be of await backends()) {
    const p = upload(be, p0);
    const g = be.alloc(p0.length);
    const m = be.alloc(p0.length);
    const v = be.alloc(p0.length);
    for (let t = 1; t <= steps; t++) be.adamStep(p, g, m, v, p0.length, lr, beta1, beta2, eps, wd, t);
    const got = readF(be, p, p0.length);
    for (let j = 0; j < p0.length; j++) {
      const want = p0[j]! * (1 - lr * wd) ** steps;
      assert.ok(Math.abs(got[j]! - want) <= steps * 2e-7 * Math.abs(p0[j]!), `${be.name} p[${j}] = ${got[j]}, want ${want}`);
    }
    // the moments never saw the decay (it is not folded into the gradient, as plain L2 would be)
    assert.equal(Array.from(readF(be, m, p0.length)), [0, 0, 0, 0, 0], `${be.name} m`);
    assert.equal(Array.from(readF(be, v, p0.length)), [0, 0, 0, 0, 0], `${be.name} v`);
    for (const off of [p, g, m, v]) be.free(off);
  }
});

test.run();
