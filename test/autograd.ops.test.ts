// Every autograd op: the tape's gradients equal central finite differences on the f64 reference
// backend (edge shapes, then random shapes via fast-check), and each WASM backend's values and
// gradients equal the f64 reference's within the case's tolerance.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { compareResults, dimsArbitrary, fdCheck, nonFinite, run, type Dims, type GradCase } from "./autograd-harness.js";
import { basicCases } from "./autograd-cases.js";
import { kernelCases } from "./autograd-kernel-cases.js";
import { wasmBackends } from "./helpers.js";

const CASES: GradCase[] = [...basicCases, ...kernelCases];
const RUNS = 12;

function fail(c: GradCase, d: Dims, where: string, errs: string[]): void {
  if (errs.length) assert.unreachable(`${c.name} ${where} at ${JSON.stringify(d)}:\n  ${errs.slice(0, 5).join("\n  ")}`);
}

async function againstReference(c: GradCase, d: Dims, seed: number): Promise<void> {
  const want = run(new RefBackend("f64"), c, d, seed);
  for (const be of await wasmBackends()) {
    const got = run(be, c, d, seed);
    fail(c, d, `on ${be.name}`, [...nonFinite(got), ...compareResults(got, want, c.tol)]);
  }
}

const seeds = fc.integer({ min: 0, max: 2 ** 30 });

for (const c of CASES) {
  test(`${c.name}: gradients equal finite differences`, () => {
    for (const [k, d] of c.edge.entries()) fail(c, d, "finite differences", fdCheck(c, d, 10 + k));
    fc.assert(fc.property(dimsArbitrary(c), seeds, (d, seed) => fail(c, d, `finite differences (seed ${seed})`, fdCheck(c, d, seed))), { numRuns: RUNS, seed: 5 });
  });
  test(`${c.name}: WASM values and gradients equal the f64 reference`, async () => {
    for (const [k, d] of c.edge.entries()) await againstReference(c, d, 20 + k);
    await fc.assert(fc.asyncProperty(dimsArbitrary(c), seeds, (d, seed) => againstReference(c, d, seed)), { numRuns: RUNS, seed: 6 });
  });
}

test.run();
