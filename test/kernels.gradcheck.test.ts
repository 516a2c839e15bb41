// Every differentiable op: (1) the f64 reference backward agrees with central finite differences
// of the f64 reference forward; (2) each WASM backward agrees with the f64 reference backward
// (tolerance per op, relative to the gradient's peak magnitude). Gradient buffers start non-zero,
// so both checks also prove that backward kernels accumulate.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ALL_OPS } from "../src/kernels/ops/index.js";
import { compareGrads, gradCheck, makeInputs, runBackward } from "../src/kernels/ops/harness.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { wasmBackends } from "./helpers.js";

const ref64 = new RefBackend("f64");

for (const op of ALL_OPS) {
  if (!op.grad) continue;
  const grad = op.grad;
  test(`${op.name}: reference backward equals finite differences`, () => {
    for (const [i, d] of op.edge.entries()) {
      const errs = gradCheck(op, d, makeInputs(op, d, 100 + i));
      if (errs.length) assert.unreachable(`${op.name} at ${JSON.stringify(d)}:\n  ${errs.slice(0, 5).join("\n  ")}`);
    }
  });
  test(`${op.name}: WASM backward equals the reference backward`, async () => {
    for (const [i, d] of [...op.edge, ...op.bench].entries()) {
      const host = makeInputs(op, d, 200 + i);
      const want = runBackward(ref64, op, d, host);
      for (const be of await wasmBackends()) {
        const errs = compareGrads(op, runBackward(be, op, d, host), want, grad.tol?.(d) ?? { abs: 1e-4, rel: 1e-3 });
        if (errs.length) assert.unreachable(`${op.name} on ${be.name} at ${JSON.stringify(d)}:\n  ${errs.slice(0, 5).join("\n  ")}`);
      }
    }
  });
}

test.run();
