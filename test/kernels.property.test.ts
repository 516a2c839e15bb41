// Every kernel against its plain-TypeScript reference (f32 storage), over the op table's edge
// shapes and random shapes and values (fast-check). Tolerances are stated per op in the table.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ALL_OPS } from "../src/kernels/ops/index.js";
import type { Dims, OpDef } from "../src/kernels/ops/registry.js";
import { compareForward, makeInputs, runForward } from "../src/kernels/ops/harness.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { wasmBackends } from "./helpers.js";

const ref = new RefBackend("f32");
const RUNS = 40;

function dimsArbitrary(op: OpDef): fc.Arbitrary<Dims> {
  const rec: Record<string, fc.Arbitrary<number>> = {};
  for (const [k, [lo, hi]] of Object.entries(op.dims)) rec[k] = fc.integer({ min: lo, max: hi });
  const arb = fc.record(rec) as fc.Arbitrary<Dims>;
  return op.valid ? arb.filter((d) => op.valid!(d)) : arb;
}

async function check(op: OpDef, d: Dims, seed: number): Promise<void> {
  const host = makeInputs(op, d, seed);
  const want = runForward(ref, op, d, host);
  for (const be of await wasmBackends()) {
    const got = runForward(be, op, d, host);
    const errs = compareForward(op, got, want, op.tol(d));
    if (errs.length) assert.unreachable(`${op.name} on ${be.name} at ${JSON.stringify(d)} seed ${seed}:\n  ${errs.slice(0, 5).join("\n  ")}`);
  }
}

for (const op of ALL_OPS) {
  test(`${op.name}: edge shapes match the reference`, async () => {
    for (const d of op.edge) await check(op, d, 7);
  });
  test(`${op.name}: random shapes and values match the reference`, async () => {
    await fc.assert(fc.asyncProperty(dimsArbitrary(op), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (d, seed) => check(op, d, seed)), {
      numRuns: RUNS,
      seed: 42,
    });
  });
}

test.run();
