// Whole rounds of secure aggregation: the unmasked sum is exactly the plain sum mod 2^32 with and
// without dropouts, below the threshold the round aborts with nothing returned, and a client that
// reveals a wrong share is located, flagged and left out while the round still completes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { bigToBytes, bytesToBig, ELEMENT_BYTES, P } from "../src/federated/secagg/field.js";
import type { UnmaskResponse } from "../src/federated/secagg/messages.js";
import { plainSum, randomInputs, runRound, type RoundSpec } from "./secagg-harness.js";

const IDS = [3, 4, 8, 10, 11, 15, 20, 21, 30, 42];
const T = 6;
const LENGTH = 2000;
const inputs = randomInputs(IDS, LENGTH, 1);

function equalU32(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function rejects(spec: RoundSpec, code: string, pattern: RegExp): Promise<void> {
  try {
    await runRound(spec);
  } catch (e) {
    assert.is((e as { code?: string }).code, code, String(e));
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable("the round should have aborted");
}

/** Adds 1 (mod p) to the share of `owner` in `field`: a share off the polynomial. */
function corrupt(r: UnmaskResponse, field: "selfMaskShares" | "keyShares", owner?: number): UnmaskResponse {
  const shift = (list: UnmaskResponse["selfMaskShares"]) =>
    list.map((s) => (owner === undefined || s.owner === owner ? { owner: s.owner, share: bigToBytes((bytesToBig(s.share) + 1n) % P, ELEMENT_BYTES) } : s));
  return { ...r, [field]: shift(r[field]) };
}

test("no dropout: the sum is exactly the plain sum mod 2^32", async () => {
  const { result, server } = await runRound({ ids: IDS, threshold: T, inputs });
  assert.ok(equalU32(result.sum, plainSum(inputs, IDS)));
  assert.equal(result.survivors, IDS);
  assert.equal(result.dropped, []);
  assert.equal(result.flagged, []);
  assert.is(server.phase, "done");
});

test("inputs at the extremes of Z_2^32 wrap exactly", async () => {
  const ids = [0, 1, 2];
  const extreme = new Map(ids.map((id) => [id, Uint32Array.from([0, 0xffffffff, 0x80000000, id])]));
  const { result } = await runRound({ ids, threshold: 2, inputs: extreme });
  assert.equal(Array.from(result.sum), [0, 0xfffffffd, 0x80000000, 3]);
});

test("clients absent from the start or dropping before their masked input: sum over the survivors", async () => {
  const spec = { ids: IDS, threshold: T, inputs, absent: [42], dropBeforeMask: [4, 20] };
  const { result } = await runRound(spec);
  const survivors = IDS.filter((id) => ![42, 4, 20].includes(id));
  assert.equal(result.survivors, survivors);
  assert.equal(result.dropped, [4, 20]);
  assert.ok(equalU32(result.sum, plainSum(inputs, survivors)));
});

test("clients dropping after their masked input still count: their self masks come from the others' shares", async () => {
  const { result } = await runRound({ ids: IDS, threshold: T, inputs, dropAfterMask: [3, 30] });
  assert.equal(result.survivors, IDS);
  assert.ok(equalU32(result.sum, plainSum(inputs, IDS)));
});

test("exactly at the threshold: two drop before and two after the masked input, six respond", async () => {
  const { result } = await runRound({ ids: IDS, threshold: T, inputs, dropBeforeMask: [8, 10], dropAfterMask: [11, 15] });
  const survivors = IDS.filter((id) => ![8, 10].includes(id));
  assert.ok(equalU32(result.sum, plainSum(inputs, survivors)));
});

test("below the threshold at any phase the round aborts, and nothing is returned", async () => {
  await rejects({ ids: IDS, threshold: T, inputs, absent: [3, 4, 8, 10, 11] }, "below-threshold", /5 advertised keys, fewer than the threshold 6/);
  await rejects({ ids: IDS, threshold: T, inputs, dropBeforeMask: [3, 4, 8, 10, 11] }, "below-threshold", /5 masked inputs/);
  await rejects({ ids: IDS, threshold: T, inputs, dropBeforeMask: [3, 4], dropAfterMask: [8, 10, 11] }, "below-threshold", /5 unmasking responses/);
});

test("an aborted server refuses every later call", async () => {
  const { SecAggServer } = await import("../src/federated/secagg/server.js");
  const server = new SecAggServer({ round: 1, threshold: 2, length: 4, clients: [1, 2, 3] });
  assert.throws(() => server.closeAdvertise(), /0 advertised keys/);
  assert.is(server.phase, "aborted");
  assert.throws(() => server.closeAdvertise(), (e: { code?: string }) => e.code === "aborted");
  await server.finish().then(
    () => assert.unreachable("finish after an abort"),
    (e: { code?: string }) => assert.is(e.code, "aborted"),
  );
});

test("a client revealing a wrong self-mask share is located, flagged and left out; the sum is still right", async () => {
  const { result } = await runRound({ ids: IDS, threshold: T, inputs, tamper: (r) => (r.client === 11 ? corrupt(r, "selfMaskShares", 4) : r) });
  assert.equal(result.flagged, [11]);
  assert.ok(equalU32(result.sum, plainSum(inputs, IDS)));
});

test("two clients revealing wrong shares of every secret: both flagged (10 shares, t = 6 locate 2), the sum is right", async () => {
  const tamper = (r: UnmaskResponse) => (r.client === 3 || r.client === 21 ? corrupt(r, "selfMaskShares") : r);
  const { result } = await runRound({ ids: IDS, threshold: T, inputs, tamper });
  assert.equal(result.flagged, [3, 21]);
  assert.ok(equalU32(result.sum, plainSum(inputs, IDS)));
});

test("more wrong shares than can be located (2 of 9 for t = 6): detected by the commitment, the round aborts", async () => {
  const tamper = (r: UnmaskResponse) => (r.client === 3 || r.client === 21 ? corrupt(r, "selfMaskShares") : r);
  await rejects({ ids: IDS, threshold: T, inputs, dropAfterMask: [42], tamper }, "unrecoverable", /client 3's committed self-mask seed/);
});

test("a wrong masking-key share of a dropped client is located too (9 shares)", async () => {
  const { result } = await runRound({ ids: IDS, threshold: T, inputs, dropBeforeMask: [8], tamper: (r) => (r.client === 30 ? corrupt(r, "keyShares") : r) });
  assert.equal(result.flagged, [30]);
  assert.ok(equalU32(result.sum, plainSum(inputs, IDS.filter((id) => id !== 8))));
});

test("a wrong share with no spare shares to locate it is still detected (commitment): the round aborts", async () => {
  const spec = { ids: IDS, threshold: T, inputs, dropAfterMask: [3, 4, 8, 10], tamper: (r: UnmaskResponse) => (r.client === 11 ? corrupt(r, "selfMaskShares", 15) : r) };
  await rejects(spec, "unrecoverable", /client 15's committed self-mask seed/);
});

test("any dropout pattern: the exact sum over the survivors, or an abort exactly when a phase falls below t", async () => {
  // each client's fate: 0 stays, 1 never advertises, 2 drops before masking, 3 drops after masking
  const arb = fc.integer({ min: 3, max: 6 }).chain((n) =>
    fc.record({ t: fc.integer({ min: 2, max: n }), fates: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }), seed: fc.nat() }),
  );
  await fc.assert(
    fc.asyncProperty(arb, async ({ t, fates, seed }) => {
      const ids = fates.map((_, i) => 2 * i + 1);
      const having = (...f: number[]) => ids.filter((_, i) => f.includes(fates[i]!));
      const spec = { ids, threshold: t, inputs: randomInputs(ids, 50, seed), seed, absent: having(1), dropBeforeMask: having(2), dropAfterMask: having(3) };
      const viable = having(0, 2, 3).length >= t && having(0, 3).length >= t && having(0).length >= t;
      try {
        const { result } = await runRound(spec);
        return viable && equalU32(result.sum, plainSum(spec.inputs, having(0, 3)));
      } catch (e) {
        return !viable && (e as { code?: string }).code === "below-threshold";
      }
    }),
    { numRuns: 25 },
  );
});

test.run();
