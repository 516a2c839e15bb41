// The keyed stream of the DP coordinator's secret randomness (util/chacha20.ts):
//   - the block function is RFC 8439's (its §2.3.2 test vector) and node:crypto's chacha20 for any
//     key, nonce and counter (property);
//   - the stream's uniforms lie in [0, 1) and its normals have mean 0 and std 1 (statistical);
//   - the same (key, nonce) gives the same numbers, another key or nonce others; bad keys are refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { createCipheriv } from "node:crypto";
import { boxMuller } from "../src/util/box-muller.js";
import { chachaBlock, KeyedStream, randomKey } from "../src/util/chacha20.js";

/** Little-endian words of a byte buffer. */
function words(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Array.from({ length: bytes.length / 4 }, (_, i) => v.getUint32(4 * i, true));
}

function bytesOf(ws: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(4 * ws.length);
  for (let i = 0; i < ws.length; i++) b.writeUInt32LE(ws[i]!, 4 * i);
  return b;
}

test("chachaBlock: RFC 8439 §2.3.2's block (key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1)", () => {
  const key = words(Uint8Array.from({ length: 32 }, (_, i) => i));
  const nonce = words(Uint8Array.from([0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0]));
  const out = new Uint32Array(16);
  chachaBlock(key, nonce, 1, out);
  const want = [
    0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033, 0x9aaa2204, 0x4e6cd4c3,
    0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9, 0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2,
  ];
  assert.equal(Array.from(out), want);
});

test("chachaBlock equals node:crypto's chacha20 keystream for any key, nonce and counter", () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 0xffffffff }), { minLength: 8, maxLength: 8 }), fc.array(fc.nat({ max: 0xffffffff }), { minLength: 3, maxLength: 3 }), fc.nat({ max: 0xffffffff }), (key, nonce, counter) => {
      const out = new Uint32Array(16);
      chachaBlock(key, nonce, counter, out);
      // node's iv: the 32-bit counter, then the 96-bit nonce (little-endian words)
      const cipher = createCipheriv("chacha20", bytesOf(key), bytesOf([counter, ...nonce]));
      const stream = cipher.update(Buffer.alloc(64));
      assert.equal(Array.from(out), words(stream));
    }),
    { numRuns: 200 },
  );
});

test("KeyedStream: uniforms in [0, 1), normals of mean 0 and std 1; the same key and nonce the same numbers, another key or nonce others", () => {
  // a fixed key: the statistics below are then fixed numbers (6 SE from failing), not a flake
  const key = [0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210, 0xdeadbeef, 0x0badf00d, 0x12345678, 0x9abcdef0];
  const s = new KeyedStream(key, [1, 2, 3]);
  const n = 100_000;
  let sum = 0;
  let sq = 0;
  let lo = 1;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const u = s.next();
    lo = Math.min(lo, u);
    hi = Math.max(hi, u);
    const z = s.normal();
    assert.ok(Number.isFinite(z));
    sum += z;
    sq += z * z;
  }
  assert.ok(lo >= 0 && hi < 1 && lo < 1e-3 && hi > 1 - 1e-3, `uniforms in [${lo}, ${hi}]`);
  // SE of the mean 1/√n = 0.0032 and of the std 1/√(2n) = 0.0022: 6 SE each
  assert.ok(Math.abs(sum / n) < 0.02, `mean ${sum / n}`);
  assert.ok(Math.abs(Math.sqrt(sq / n) - 1) < 0.014, `std ${Math.sqrt(sq / n)}`);
  const draw = (k: readonly number[], nonce: number[]) => {
    const t = new KeyedStream(k, nonce);
    return Array.from({ length: 40 }, () => t.nextU32());
  };
  assert.equal(draw(key, [4, 5, 6]), draw(key, [4, 5, 6]));
  assert.not.equal(draw(key, [4, 5, 6]), draw(key, [4, 5, 7]));
  assert.not.equal(draw(key, [4, 5, 6]), draw([(key[0]! ^ 1) >>> 0, ...key.slice(1)], [4, 5, 6]));
  // 40 words span 3 blocks: the counter moves on
  const ws = draw(key, [0, 0, 0]);
  assert.not.equal(ws.slice(0, 16), ws.slice(16, 32));
});

test("KeyedStream and randomKey: keys of 8 words in [0, 2^32) and nonces of 3; anything else is refused", () => {
  const key = randomKey();
  assert.is(key.length, 8);
  assert.ok(key.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff));
  assert.throws(() => new KeyedStream(key.slice(0, 7), [0, 0, 0]), /the key must be 8 integers/);
  assert.throws(() => new KeyedStream([...key.slice(0, 7), 2 ** 32], [0, 0, 0]), /the key must be 8 integers/);
  assert.throws(() => new KeyedStream([...key.slice(0, 7), 1.5], [0, 0, 0]), /the key must be 8 integers/);
  assert.throws(() => new KeyedStream(key, [0, 0]), /the nonce must be 3 integers/);
  assert.throws(() => new KeyedStream(key, [0, -1, 0]), /the nonce must be 3 integers/);
});

test("boxMuller at the uniforms' edges: u = 1 gives 0 (radius 0), the smallest 53-bit uniform at most √(2·ln 2^53) ≈ 8.58", () => {
  const ones = boxMuller(() => 1);
  assert.equal([ones.normal(), ones.normal()], [0, 0]);
  const tiny = boxMuller(() => 2 ** -53);
  const z = [tiny.normal(), tiny.normal()];
  const ceiling = Math.sqrt(2 * 53 * Math.LN2);
  assert.ok(z.every((x) => Number.isFinite(x) && Math.abs(x) <= ceiling + 1e-12), JSON.stringify(z));
  // angle 2π·2^-53 ≈ 0: the first draw is the whole radius
  assert.ok(Math.abs(z[0]! - ceiling) < 1e-9, `${z[0]} vs ${ceiling}`);
});

test.run();
