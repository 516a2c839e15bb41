// The lossy encodings through a whole frame, on the reference backend and the WASM backends:
// int8 within scale/2 per block, top-k keeping exactly the k largest magnitudes, top-k + int8 both
// at once, and error feedback losing nothing over rounds (sent + final residual = inputs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { Backend } from "../src/kernels/backend.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { decodeFrame, encodeFrame, ErrorFeedback, type Encoding, type Frame } from "../src/federated/wire/index.js";
import { f32, floatValue, partition } from "./wire-fixtures.js";
import { wasmBackends } from "./helpers.js";

async function backends(): Promise<Backend[]> {
  return [new RefBackend("f32"), ...(await wasmBackends())];
}

const SMALLEST_NORMAL = 2 ** -126;

function roundTrip(values: number[], encoding: Encoding, k: number, block: number, be: Backend): Float32Array {
  const frame: Frame = { type: "update", round: 1, partitions: [partition("p", encoding, values)] };
  return decodeFrame(encodeFrame(frame, { k, block, backend: be })).partitions[0]!.values as Float32Array;
}

/** The k entries of largest |x|, ties to the lower index (kernels.ts topkSelect), ascending. */
function largest(x: number[], k: number): number[] {
  return x.map((_, i) => i).sort((a, b) => Math.abs(x[b]!) - Math.abs(x[a]!) || a - b).slice(0, Math.min(k, x.length)).sort((a, b) => a - b);
}

/** Checks |x − x̂| ≤ scale/2 (+ the f32 rounding of q·scale), scale = max|x|/127 per block of `vals`. */
function checkInt8(what: string, vals: number[], back: number[], block: number): void {
  for (let s = 0; s < vals.length; s += block) {
    const amax = Math.max(...vals.slice(s, s + block).map(Math.abs));
    const scale = f32(amax / 127);
    for (let j = s; j < Math.min(s + block, vals.length); j++) {
      const bound = scale >= SMALLEST_NORMAL ? scale / 2 + 2 ** -24 * Math.abs(back[j]!) : amax;
      assert.ok(Math.abs(vals[j]! - back[j]!) <= bound, `${what}: value ${j} = ${vals[j]} came back as ${back[j]} (scale ${scale})`);
    }
  }
}

test("int8: every value within scale/2 of its block's scale = max|x|/127", async () => {
  const bes = await backends();
  fc.assert(
    fc.property(fc.array(floatValue, { maxLength: 300 }), fc.integer({ min: 1, max: 70 }), (x, block) => {
      for (const be of bes) checkInt8(be.name, x, Array.from(roundTrip(x, "int8", 1, block, be)), block);
    }),
    { numRuns: 150 },
  );
});

test("top-k: keeps exactly the k largest magnitudes (ties to the lower index), values exact, zeros elsewhere", async () => {
  const bes = await backends();
  const withTies = fc.oneof(floatValue, fc.constantFrom(1, -1, 0.5, 0));
  fc.assert(
    fc.property(fc.array(withTies, { maxLength: 300 }), fc.oneof(fc.integer({ min: 1, max: 320 }), fc.double({ min: 0.001, max: 0.999, noNaN: true })), (x, k) => {
      const count = k < 1 ? Math.ceil(k * x.length) : Math.min(k, x.length);
      const want = new Float32Array(x.length);
      for (const i of largest(x, count)) want[i] = x[i]!;
      for (const be of bes) assert.equal(Array.from(roundTrip(x, "topk", k, 1, be)), Array.from(want), be.name);
    }),
    { numRuns: 150 },
  );
});

test("top-k + int8: the k largest entries, each within scale/2 of its block of kept values", async () => {
  const bes = await backends();
  fc.assert(
    fc.property(fc.array(floatValue, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 40 }), (x, k, block) => {
      const kept = largest(x, k);
      for (const be of bes) {
        const back = roundTrip(x, "topk-int8", k, block, be);
        const keptSet = new Set(kept);
        x.forEach((_, i) => keptSet.has(i) || assert.is(back[i], 0, `${be.name}: dropped entry ${i}`));
        checkInt8(be.name, kept.map((i) => x[i]!), kept.map((i) => back[i]!), block);
      }
    }),
    { numRuns: 150 },
  );
});

test("error feedback: over rounds, what was decoded plus the final residual is the sum of the inputs", async () => {
  const bes = await backends();
  const small = fc.double({ min: -10, max: 10, noNaN: true }).map(f32);
  fc.assert(
    fc.property(
      fc.constantFrom<Encoding>("topk", "int8", "topk-int8", "f32"),
      fc.integer({ min: 1, max: 60 }),
      fc.array(fc.array(small, { minLength: 60, maxLength: 60 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 20 }),
      (encoding, n, rounds, k) => {
        for (const be of bes) {
          const ef = new ErrorFeedback();
          const sent = new Float64Array(n);
          const input = new Float64Array(n);
          const size = new Float64Array(n); // Σ|terms| per entry, for the rounding tolerance
          for (const [r, row] of rounds.entries()) {
            const x = row.slice(0, n);
            const frame: Frame = { type: "update", round: r, partitions: [partition("shared", encoding, x)] };
            const back = decodeFrame(ef.encode(frame, { k, block: 8, backend: be })).partitions[0]!.values;
            for (let i = 0; i < n; i++) {
              sent[i] += back[i]!;
              input[i] += x[i]!;
              size[i] += Math.abs(x[i]!) + Math.abs(back[i]!);
            }
          }
          const res = ef.residual("shared")!;
          for (let i = 0; i < n; i++) {
            // every round rounds u = x + r and u − x̂ to f32 once each: 2⁻²⁴ relative per operation
            const tol = 4 * 2 ** -24 * (size[i]! + Math.abs(res[i]!)) * rounds.length;
            assert.ok(Math.abs(sent[i]! + res[i]! - input[i]!) <= tol, `${be.name} ${encoding}: entry ${i}: sent ${sent[i]} + residual ${res[i]} vs inputs ${input[i]}`);
          }
          if (encoding === "f32") assert.ok(res.every((v) => v === 0), "a lossless encoding leaves no residual");
        }
      },
    ),
    { numRuns: 60 },
  );
});

test("error feedback: an expert's residual waits for the next round that sends it; a store can supply residuals", () => {
  const mem = new Float32Array(8);
  const views: Record<string, Float32Array> = { "group.0.0": mem.subarray(0, 4), "group.0.1": mem.subarray(4, 8) };
  const ef = new ErrorFeedback((name) => views[name] ?? null);
  const frame = (name: string, x: number[]): Frame => ({ type: "update", round: 0, partitions: [partition(name, "topk", x)] });
  ef.encode(frame("group.0.0", [1, 2, 3, 4]), { k: 1 });
  assert.equal(Array.from(mem), [1, 2, 3, 0, 0, 0, 0, 0], "expert 0 keeps what top-1 dropped");
  ef.encode(frame("group.0.1", [5, 0, 0, 0]), { k: 1 });
  assert.equal(Array.from(mem), [1, 2, 3, 0, 0, 0, 0, 0], "expert 1 dropped nothing; expert 0's residual is untouched");
  const back = decodeFrame(ef.encode(frame("group.0.0", [0, 0, 0, 0]), { k: 1 })).partitions[0]!.values;
  assert.equal(Array.from(back), [0, 0, 3, 0], "the residual is sent when it is the largest");
  const none = decodeFrame(ef.encode(frame("other", [1, 2]), { k: 1 })).partitions[0]!.values;
  assert.equal(Array.from(none), [0, 2], "a partition the store has no residual for is sent without feedback");
  assert.throws(() => new ErrorFeedback(() => new Float32Array(3)).encode(frame("x", [1, 2]), { k: 1 }), /holds 3 values, the partition 2/);
});

test("error feedback: a residual that would make a value non-finite is refused, not sent", () => {
  const ef = new ErrorFeedback();
  const frame = (x: number[]): Frame => ({ type: "update", round: 0, partitions: [partition("p", "topk", x)] });
  ef.encode(frame([3e38, 3e38]), { k: 1 }); // sends entry 0, keeps 3e38 at entry 1
  assert.throws(() => ef.encode(frame([0, 3e38]), { k: 1 }), (e: unknown) => e instanceof Error && /non-finite.*after adding the error-feedback residual/.test(e.message));
});

test.run();
