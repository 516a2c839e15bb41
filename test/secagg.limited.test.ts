// eachLimited: every item is visited once, never more than `limit` calls are pending, and after
// a failure no new call starts and the first error is what the caller sees.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { eachLimited } from "../src/federated/secagg/limited.js";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

test("visits each item once with at most `limit` calls pending", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 10 }), async (n, limit) => {
      const seen = new Array<number>(n).fill(0);
      let pending = 0;
      let most = 0;
      await eachLimited(
        Array.from({ length: n }, (_, i) => i),
        async (item, index) => {
          pending++;
          most = Math.max(most, pending);
          await tick();
          seen[item]! += index === item ? 1 : 100;
          pending--;
        },
        limit,
      );
      return seen.every((c) => c === 1) && most <= limit && (n === 0 || most === Math.min(n, limit));
    }),
    { numRuns: 40 },
  );
});

test("after a failure no new call starts, and the first error rejects", async () => {
  const started: number[] = [];
  const run = eachLimited(
    Array.from({ length: 20 }, (_, i) => i),
    async (i) => {
      started.push(i);
      await tick();
      if (i === 3) throw new Error("item 3 failed");
    },
    2,
  );
  await run.then(
    () => assert.unreachable("should reject"),
    (e: Error) => assert.is(e.message, "item 3 failed"),
  );
  await tick();
  assert.ok(Math.max(...started) <= 4, `started ${started.join(",")}`);
});

test.run();
