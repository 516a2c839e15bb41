// Adjusted Rand index: 1 for the same partition under any relabelling, a hand-computed value, about 0
// for independent random partitions, refused inputs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { adjustedRandIndex } from "../src/metrics/ari.js";
import { Rng } from "../src/util/rng.js";

test("identical partitions under relabelling give 1", () => {
  assert.is(adjustedRandIndex([0, 0, 1, 1, 2, 2], [5, 5, 9, 9, 7, 7]), 1);
  assert.is(adjustedRandIndex([3, 3, 3], [0, 0, 0]), 1);
});

test("a hand-computed value: Σ C(nᵢⱼ,2) = 2, Σ C(aᵢ,2) = 6, Σ C(bⱼ,2) = 3, C(6,2) = 15 → (2 − 1.2)/(4.5 − 1.2)", () => {
  const ari = adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]);
  assert.ok(Math.abs(ari - 0.8 / 3.3) < 1e-12, String(ari));
});

test("independent random partitions score about 0; a noisy copy scores in between", () => {
  const rng = new Rng(4);
  const n = 4000;
  const a = Array.from({ length: n }, () => rng.int(4));
  const b = Array.from({ length: n }, () => rng.int(4));
  assert.ok(Math.abs(adjustedRandIndex(a, b)) < 0.005, String(adjustedRandIndex(a, b)));
  const noisy = a.map((x) => (rng.next() < 0.5 ? x : rng.int(4)));
  const mid = adjustedRandIndex(a, noisy);
  assert.ok(mid > 0.2 && mid < 0.6, String(mid));
});

test("refused inputs", () => {
  assert.throws(() => adjustedRandIndex([0, 1], [0]), /2 and 1 labels/);
  assert.throws(() => adjustedRandIndex([0], [0]), /at least 2/);
  assert.throws(() => adjustedRandIndex([0, 0.5], [0, 1]), /label 1 is not an integer/);
});

test.run();
