// The clients' slot file: any sequence of slot writes reads back bit for bit (NaN payloads, -0,
// extremes), a new file reads as zeros, the whole file goes to and comes back from a checkpoint
// array, bad clients / ranges / shapes are refused, and no file is left behind.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadArray } from "../src/federated/checkpoint.js";
import { ClientSlots } from "../src/federated/client-slots.js";
import { bytesOf } from "../src/util/file-io.js";

const dir = mkdtempSync(join(tmpdir(), "fedfacet-slots-"));

const same = (a: Float32Array, b: Float32Array, why: string) => assert.equal(bytesOf(a), bytesOf(b), why);

const f32 = fc.oneof(fc.float(), fc.constantFrom(NaN, -0, Infinity, -Infinity, 3.4028234663852886e38, 1e-45));

test("slot writes read back bit for bit; unwritten slots are zeros; the whole file is the slots in order", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.tuple(fc.nat(), fc.array(f32, { minLength: 40, maxLength: 40 }), fc.integer({ min: 0, max: 3 })), { maxLength: 30 }),
      (size, count, writes) => {
        const slots = ClientSlots.create(size, count, dir);
        try {
          const model = new Float32Array(size * count);
          for (const [client, values, at] of writes) {
            const c = client % count;
            // the slot's values sit at `at` of a larger array, as the private partition does in a backend's memory
            const src = new Float32Array(at + size + 2).fill(7);
            src.set(values.slice(0, size), at);
            slots.write(c, src, at);
            model.set(src.subarray(at, at + size), c * size);
          }
          for (let c = 0; c < count; c++) {
            const dst = new Float32Array(size + 3).fill(5);
            slots.read(c, dst, 2);
            same(dst.subarray(2, 2 + size), model.subarray(c * size, (c + 1) * size), `slot ${c}`);
            assert.equal(Array.from(dst.subarray(0, 2)).concat(Array.from(dst.subarray(2 + size))), [5, 5, 5], "outside the slot");
          }
          const whole = loadArray(slots.source());
          assert.ok(whole instanceof Float32Array);
          same(whole as Float32Array, model, "source()");
        } finally {
          slots.close();
        }
      },
    ),
    { numRuns: 60, seed: 11 },
  );
});

test("restore takes the whole file from an array or from another file's source, larger than one copy piece", () => {
  // 1.2 M values: 4.8 MB, more than the 4 MiB a copy moves at a time
  const size = 100_003;
  const count = 12;
  const values = new Float32Array(size * count).map((_, i) => Math.sin(i) * 1e6);
  const a = ClientSlots.create(size, count, dir);
  const b = ClientSlots.create(size, count, dir);
  try {
    assert.ok(a.fits(values));
    a.restore(values);
    b.restore(a.source());
    const got = new Float32Array(size);
    for (const c of [0, 5, count - 1]) {
      b.read(c, got);
      same(got, values.subarray(c * size, (c + 1) * size), `slot ${c}`);
    }
    same(loadArray(b.source()) as Float32Array, values, "whole file");
  } finally {
    a.close();
    b.close();
  }
});

test("bad clients, ranges and shapes are refused; empty slots and zero clients work", () => {
  const s = ClientSlots.create(4, 3, dir);
  try {
    assert.throws(() => s.read(3, new Float32Array(4)), /no client 3 \(3 slots\)/);
    assert.throws(() => s.write(-1, new Float32Array(4)), /no client -1/);
    assert.throws(() => s.read(0.5, new Float32Array(4)), /no client 0\.5/);
    assert.throws(() => s.read(0, new Float32Array(3)), /client 0's 4 values do not fit at 0 of an array of 3/);
    assert.throws(() => s.write(1, new Float32Array(6), 3), /do not fit at 3 of an array of 6/);
    assert.not.ok(s.fits(new Float32Array(11)));
    assert.not.ok(s.fits(new Float64Array(12)));
    assert.not.ok(s.fits(undefined));
    assert.throws(() => s.restore(new Float64Array(12)), /12 f64 values for 3 slots of 4 f32/);
    assert.throws(() => s.source().read(new Uint8Array(8), 44), /bytes 44\.\.52 are outside the slots \(48 bytes\)/);
  } finally {
    s.close();
  }
  // a private optimiser that keeps nothing: slots of 0 values
  const empty = ClientSlots.create(0, 5, dir);
  empty.write(4, new Float32Array(0));
  empty.read(4, new Float32Array(0));
  assert.is(loadArray(empty.source()).length, 0);
  empty.close();
  const none = ClientSlots.create(3, 0, dir);
  assert.throws(() => none.read(0, new Float32Array(3)), /no client 0 \(0 slots\)/);
  none.close();
  // an I/O failure names the file's folder (a closed descriptor stands in for a full disk)
  const closed = ClientSlots.create(2, 2, dir);
  closed.close();
  assert.throws(() => closed.write(1, new Float32Array(2)), /cannot write client 1's slot in the clients' state file \(in .*fedfacet-slots-.*\): EBADF/);
  assert.throws(() => ClientSlots.create(-1, 2, dir), /2 slots of -1 values/);
  assert.throws(() => ClientSlots.create(2, 2, join(dir, "missing")), /cannot create the clients' state file in .*missing/);
});

test("the file is unlinked at once: nothing is left in the folder, open or closed", () => {
  const sub = mkdtempSync(join(dir, "sub-"));
  const s = ClientSlots.create(8, 8, sub);
  s.write(3, new Float32Array(8).fill(1));
  assert.equal(readdirSync(sub), []);
  s.close();
  assert.equal(readdirSync(sub), []);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
