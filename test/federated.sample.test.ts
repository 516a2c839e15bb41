// Client sampling and chunking depend on (seed, round) only, and sample without replacement.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chunksOf, sampleClients } from "../src/federated/sample.js";
import { deriveSeed } from "../src/federated/seed.js";

test("ratio 1 takes every client in order; a count or ratio takes that many distinct ones, sorted", () => {
  assert.equal(Array.from(sampleClients(5, { ratio: 1 }, 1, 1)), [0, 1, 2, 3, 4]);
  for (const [p, m] of [[{ count: 7 }, 7], [{ ratio: 0.25 }, 25], [{ count: 500 }, 100], [{ ratio: 0.001 }, 1]] as const) {
    const ids = sampleClients(100, p, 3, 2);
    assert.is(ids.length, m, JSON.stringify(p));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, "ascending and distinct");
    assert.ok(ids[0]! >= 0 && ids[ids.length - 1]! < 100);
  }
});

test("the same (seed, round) gives the same participants; other rounds and seeds differ", () => {
  const a = Array.from(sampleClients(1000, { count: 50 }, 7, 3));
  assert.equal(Array.from(sampleClients(1000, { count: 50 }, 7, 3)), a);
  assert.not.equal(Array.from(sampleClients(1000, { count: 50 }, 7, 4)), a);
  assert.not.equal(Array.from(sampleClients(1000, { count: 50 }, 8, 3)), a);
});

test("every client is about equally likely to take part", () => {
  const hits = new Int32Array(20);
  for (let r = 1; r <= 2000; r++) for (const c of sampleClients(20, { count: 5 }, 1, r)) hits[c]++;
  // 2000 rounds × 5/20: mean 500, sd ≈ 19
  for (const h of hits) assert.ok(h > 420 && h < 580, `hits ${Array.from(hits).join(",")}`);
});

test("chunks are consecutive runs of the given size", () => {
  const ids = Int32Array.from([1, 4, 5, 8, 9, 12, 13]);
  assert.equal(chunksOf(ids, 3).map((c) => Array.from(c)), [[1, 4, 5], [8, 9, 12], [13]]);
  assert.equal(chunksOf(new Int32Array(0), 3), []);
});

test("deriveSeed separates its parts (no two tuples of a small grid collide) and rejects non-integers", () => {
  const seen = new Set<number>();
  for (let a = 0; a < 8; a++) for (let b = 0; b < 8; b++) for (let c = 0; c < 64; c++) seen.add(deriveSeed(a, b, c));
  assert.is(seen.size, 8 * 8 * 64);
  assert.is.not(deriveSeed(1, 2), deriveSeed(2, 1));
  assert.is(deriveSeed(5, 2 ** 40), deriveSeed(5, 2 ** 40));
  assert.throws(() => deriveSeed(1.5), /integers/);
});

test.run();
