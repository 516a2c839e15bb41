// The checkpoint file: arrays of every dtype and the header round-trip exactly; a damaged or
// foreign file is refused; a write replaces the file whole; large arrays go in and out in pieces.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isArraySource, loadArray, readCheckpoint, writeCheckpoint, type ArraySource } from "../src/federated/checkpoint.js";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "fedfacet-ck-"));
}

test("header and arrays round-trip bit for bit (odd lengths, empty arrays, NaN and -0)", () => {
  const dir = tmp();
  try {
    const path = join(dir, "c.ffck");
    const arrays = {
      a: Float32Array.from([1.5, -0, NaN, 3.4028234663852886e38, 1e-45]),
      b: new Float64Array(0),
      c: Float64Array.from([Math.PI, -Infinity, 5e-324]),
      d: Int32Array.from([-1, 2 ** 31 - 1, 0]),
      e: new Float32Array(1001).map((_, i) => i / 7),
    };
    const header = { round: 3, history: [{ x: "é ✓" }], nested: { k: [1, 2] } };
    writeCheckpoint(path, { header, arrays });
    const back = readCheckpoint<typeof header>(path);
    assert.equal(back.header, header);
    assert.equal(Object.keys(back.arrays), Object.keys(arrays));
    for (const [name, a] of Object.entries(arrays)) {
      const b = back.arrays[name]!;
      assert.is(b.constructor, a.constructor, name);
      assert.equal(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), new Uint8Array(a.buffer, a.byteOffset, a.byteLength), name);
    }
    // rewriting leaves only the file (no temporary beside it)
    writeCheckpoint(path, { header: { round: 4 }, arrays: {} });
    assert.equal(readCheckpoint(path).header, { round: 4 });
    assert.equal(readdirSync(dir), ["c.ffck"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an ArraySource is written in pieces and read back lazily; a replaced file is not read through an old source", () => {
  const dir = tmp();
  try {
    const path = join(dir, "c.ffck");
    // 1.1 M values: more than one 4 MiB piece
    const big = new Float32Array(1_100_001).map((_, i) => (i % 977) - 0.5);
    const source: ArraySource = { dtype: "f32", length: big.length, read: (dst, at) => dst.set(new Uint8Array(big.buffer, at, dst.length)) };
    const small = Int32Array.from([4, -5, 6]);
    writeCheckpoint(path, { header: { round: 1 }, arrays: { small, big: source, after: Float64Array.of(0.25) } });
    const eager = readCheckpoint(path);
    assert.equal(new Uint8Array(eager.arrays.big!.buffer), new Uint8Array(big.buffer));
    assert.equal(Array.from(eager.arrays.after!), [0.25]);
    const lazy = readCheckpoint(path, ["big"]);
    assert.equal(Array.from(lazy.arrays.small as Int32Array), [4, -5, 6]);
    const b = lazy.arrays.big!;
    assert.ok(isArraySource(b) && b.dtype === "f32" && b.length === big.length);
    const piece = new Float32Array(5);
    (b as ArraySource).read(new Uint8Array(piece.buffer), 4 * 1000);
    assert.equal(Array.from(piece), Array.from(big.subarray(1000, 1005)));
    assert.equal(new Uint8Array(loadArray(b).buffer), new Uint8Array(big.buffer));
    assert.throws(() => (b as ArraySource).read(new Uint8Array(8), 4 * big.length - 4), /outside array 'big'/);
    writeCheckpoint(path, { header: { round: 2 }, arrays: { big: Float32Array.of(1) } });
    assert.throws(() => (b as ArraySource).read(new Uint8Array(4), 0), /c\.ffck: the checkpoint was replaced after it was read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a foreign or truncated file is refused with its path", () => {
  const dir = tmp();
  try {
    const path = join(dir, "c.ffck");
    writeFileSync(path, "hello, world");
    assert.throws(() => readCheckpoint(path), /c\.ffck: not a fedfacet checkpoint \(bad magic\)/);
    writeCheckpoint(path, { header: {}, arrays: { a: new Float32Array(100) } });
    const full = readFileSync(path);
    writeFileSync(path, full.subarray(0, full.length - 8));
    assert.throws(() => readCheckpoint(path), /array 'a' is truncated/);
    writeFileSync(path, Buffer.concat([Buffer.from("FFCKPT01"), Buffer.from([5, 0, 0, 0]), Buffer.from("{oops")]));
    assert.throws(() => readCheckpoint(path), /c\.ffck: not a fedfacet checkpoint \(unreadable header/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
