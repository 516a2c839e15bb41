// The frame: valid frames of every encoding round-trip (lossless encodings exactly), and no byte
// string whatever makes decodeFrame throw anything but a WireError, with the code that names what
// is wrong: random bytes, cuts, bit flips, wrong version, bad CRC, lying lengths, non-finite values.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { crc32, decodeFrame, encodeFrame, rawFrameBytes, WireError, type Frame, type WireErrorCode } from "../src/federated/wire/index.js";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { firstEntryFields, frameArb, partition, reseal, sampleFrame } from "./wire-fixtures.js";

const CODEC = { k: 0.3, block: 16 };

function codeOf(f: () => unknown): WireErrorCode | "no error" {
  try {
    f();
    return "no error";
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw new Error(`not a WireError: ${e instanceof Error ? e.stack : String(e)}`);
  }
}

test("crc32: the standard check value", () => {
  assert.is(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.is(crc32(new Uint8Array(0)), 0);
});

test("frame: type, round, names, encodings and lengths round-trip; f32, i32 and u32 values exactly", () => {
  fc.assert(
    fc.property(frameArb, (frame) => {
      const bytes = encodeFrame(frame, CODEC);
      assert.is(bytes.length % 4, 0, "frames are whole words");
      const back = decodeFrame(bytes);
      assert.is(back.type, frame.type);
      assert.is(back.round, frame.round);
      assert.equal(back.partitions.map((p) => [p.name, p.encoding, p.length]), frame.partitions.map((p) => [p.name, p.encoding, p.length]));
      back.partitions.forEach((p, i) => {
        assert.is(p.values.length, p.length);
        if (p.encoding === "f32" || p.encoding === "i32" || p.encoding === "u32") assert.equal(Array.from(p.values), Array.from(frame.partitions[i]!.values), p.name);
      });
    }),
    { numRuns: 200 },
  );
});

test("rawFrameBytes: the size of a frame of raw partitions, from names and lengths", () => {
  fc.assert(
    fc.property(frameArb, (frame) => {
      const raw = { ...frame, partitions: frame.partitions.filter((p) => p.encoding === "f32" || p.encoding === "i32" || p.encoding === "u32") };
      assert.is(rawFrameBytes(raw.partitions), encodeFrame(raw).length);
    }),
    { numRuns: 100 },
  );
});

test("frame: a frame with no partitions, and zero-length partitions of every encoding, work", () => {
  const empty: Frame = { type: "task", round: 0, partitions: [] };
  const bytes = encodeFrame(empty);
  assert.is(bytes.length, 20, "header 14 + padding 2 + CRC 4");
  assert.equal(decodeFrame(bytes), empty);
  const zeros: Frame = { type: "update", round: 3, partitions: (["f32", "i32", "topk", "int8", "topk-int8", "u32"] as const).map((e) => partition(`z.${e}`, e, [])) };
  const back = decodeFrame(encodeFrame(zeros, CODEC));
  assert.equal(back.partitions.map((p) => [p.name, p.encoding, p.length, p.values.length]), zeros.partitions.map((p) => [p.name, p.encoding, 0, 0]));
});

test("frame: encoding refuses what it cannot send, with a WireError or a RangeError naming it", () => {
  const one = (p: ReturnType<typeof partition>) => () => encodeFrame({ type: "update", round: 1, partitions: [p] }, CODEC);
  assert.is(codeOf(one(partition("x", "f32", [1, NaN]))), "non-finite");
  assert.is(codeOf(one(partition("x", "topk", [Infinity]))), "non-finite");
  assert.is(codeOf(one(partition("x", "int8", [3e38]))), "non-finite", "beyond what int8 can scale");
  assert.is(codeOf(one(partition("", "f32", [1]))), "bad-partition");
  assert.is(codeOf(one(partition("é".repeat(128), "f32", [1]))), "bad-partition", "256 bytes of name");
  assert.is(codeOf(one({ name: "x", encoding: "i32", length: 1, values: new Float32Array(1) })), "bad-partition");
  assert.is(codeOf(one({ name: "x", encoding: "f32", length: 2, values: new Float32Array(1) })), "bad-partition");
  assert.is(codeOf(() => encodeFrame({ type: "update", round: 1, partitions: [partition("a", "f32", []), partition("a", "f32", [])] })), "bad-partition");
  assert.is(codeOf(() => encodeFrame({ type: "update", round: -1, partitions: [] })), "bad-partition");
  assert.throws(() => encodeFrame({ type: "update", round: 1, partitions: [partition("x", "topk", [1])] }), /top-k needs k/);
  assert.throws(() => encodeFrame({ type: "update", round: 1, partitions: [partition("x", "int8", [1])] }, { block: 0 }), /block must be an integer >= 1/);
});

test("decode: random bytes give a WireError, never another exception", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (junk, magic) => {
      const bytes = magic ? Uint8Array.from([0x46, 0x46, 0x57, 0x46, 1, 0, ...junk]) : junk;
      const code = codeOf(() => decodeFrame(bytes));
      assert.ok(code !== "no error" || (magic && junk.length >= 14), "random bytes decoded");
    }),
    { numRuns: 2000 },
  );
});

test("decode: every cut of a valid frame is 'truncated'", () => {
  fc.assert(
    fc.property(frameArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (frame, at) => {
      const bytes = encodeFrame(frame, CODEC);
      const cut = Math.floor(at * bytes.length);
      // a cut inside the magic cannot be told from another magic
      const want = cut === 0 || cut >= 4 ? "truncated" : "bad-magic";
      const code = codeOf(() => decodeFrame(bytes.subarray(0, cut)));
      assert.ok(code === want || (cut < 4 && code === "truncated"), `cut at ${cut} of ${bytes.length}: ${code}`);
    }),
    { numRuns: 300 },
  );
});

test("decode: a single flipped bit is always caught; in the round or a payload it is 'bad-crc'", () => {
  const bytes = encodeFrame(sampleFrame(), CODEC);
  const tableEnd = (() => {
    let t = 14;
    for (let i = 0; i < 6; i++) t += 1 + bytes[t]! + 9;
    return Math.ceil(t / 4) * 4;
  })();
  for (let bit = 0; bit < 8 * bytes.length; bit++) {
    const flipped = bytes.slice();
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    const code = codeOf(() => decodeFrame(flipped));
    assert.ok(code !== "no error", `flip of bit ${bit} went unnoticed`);
    const byte = bit >> 3;
    if ((byte >= 8 && byte < 12) || byte >= tableEnd) assert.is(code, "bad-crc", `bit ${bit} (byte ${byte})`);
    if (byte < 4) assert.is(code, "bad-magic");
    if (byte === 4 || byte === 5 || byte === 7) assert.is(code, "bad-version", `bit ${bit}`);
  }
});

test("decode: wrong version, unknown type, bad CRC, too large, too many partitions", () => {
  const bytes = encodeFrame(sampleFrame(), CODEC);
  const edit = (at: number, v: number) => {
    const b = bytes.slice();
    b[at] = v;
    return reseal(b);
  };
  assert.is(codeOf(() => decodeFrame(edit(4, 2))), "bad-version");
  assert.is(codeOf(() => decodeFrame(edit(7, 1))), "bad-version", "flags");
  assert.is(codeOf(() => decodeFrame(edit(6, 0))), "bad-type");
  assert.is(codeOf(() => decodeFrame(edit(6, 9))), "bad-type");
  const crc = bytes.slice();
  crc[crc.length - 1]! ^= 0x80;
  assert.is(codeOf(() => decodeFrame(crc)), "bad-crc");
  assert.is(codeOf(() => decodeFrame(bytes, { maxBytes: bytes.length - 1 })), "too-large");
  assert.is(codeOf(() => decodeFrame(bytes, { maxPartitions: 5 })), "too-large");
  assert.is(codeOf(() => decodeFrame(bytes, { maxElements: 100 })), "too-large");
  assert.is(codeOf(() => decodeFrame(edit(firstEntryFields(bytes), 6))), "bad-encoding");
  const name = bytes.slice();
  name[15] = 0xff; // the first name's first byte: not UTF-8
  assert.is(codeOf(() => decodeFrame(reseal(name))), "bad-partition");
  assert.is(codeOf(() => decodeFrame(reseal(Uint8Array.from([...bytes.subarray(0, bytes.length - 4), 0, 0, 0, 0, 0, 0, 0, 0])))), "bad-partition", "trailing bytes");
});

test("decode: lying lengths are caught before anything is allocated from them", () => {
  const one = (enc: Parameters<typeof partition>[1], values: number[]) => encodeFrame({ type: "update", round: 1, partitions: [partition("p", enc, values)] }, { k: 2, block: 2 });
  const lie = (bytes: Uint8Array, field: "length" | "bytes", v: number) => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(firstEntryFields(b) + (field === "length" ? 1 : 5), v, true);
    return reseal(b);
  };
  const dense = one("f32", [1, 2, 3]);
  assert.is(codeOf(() => decodeFrame(lie(dense, "length", 4))), "bad-partition", "f32 length beyond the bytes");
  assert.is(codeOf(() => decodeFrame(lie(dense, "length", 0xffffffff))), "too-large", "4 G values claimed");
  assert.is(codeOf(() => decodeFrame(lie(dense, "bytes", 16))), "truncated", "payload beyond the frame");
  assert.is(codeOf(() => decodeFrame(lie(dense, "bytes", 0xfffffff0))), "truncated");
  assert.is(codeOf(() => decodeFrame(lie(dense, "bytes", 8))), "bad-partition", "payload shorter than the length needs");
  const sparse = one("topk", [1, -5, 3, 0]);
  assert.is(codeOf(() => decodeFrame(lie(sparse, "length", 1 << 30))), "too-large", "a sparse partition claiming 2^30 values");
  assert.is(codeOf(() => decodeFrame(lie(sparse, "length", 1))), "bad-partition", "count above the length");
  // the count inside the payload
  const countAt = Math.ceil((firstEntryFields(sparse) + 9) / 4) * 4;
  const count = (v: number) => {
    const b = sparse.slice();
    new DataView(b.buffer).setUint32(countAt, v, true);
    return reseal(b);
  };
  assert.is(codeOf(() => decodeFrame(count(0xffffffff))), "bad-partition");
  assert.is(codeOf(() => decodeFrame(count(1))), "bad-partition", "count disagrees with the payload size");
  // indices out of order or range
  const idx = (v: number) => {
    const b = sparse.slice();
    new DataView(b.buffer).setUint32(countAt + 4, v, true);
    return reseal(b);
  };
  assert.is(codeOf(() => decodeFrame(idx(3))), "bad-partition", "indices not ascending");
  const q = one("int8", [1, 2, 3]);
  const blockAt = Math.ceil((firstEntryFields(q) + 9) / 4) * 4;
  const zeroBlock = q.slice();
  new DataView(zeroBlock.buffer).setUint32(blockAt, 0, true);
  assert.is(codeOf(() => decodeFrame(reseal(zeroBlock))), "bad-partition", "block 0");
});

test("decode: NaN or Inf in an f32 value, a top-k value, an int8 scale or an int8 product is 'non-finite'", () => {
  const cases: [Parameters<typeof partition>[1], number][] = [["f32", 4], ["topk", 4 + 8], ["int8", 4], ["topk-int8", 8 + 8]];
  for (const [enc, off] of cases) {
    const bytes = encodeFrame({ type: "update", round: 1, partitions: [partition("p", enc, [1, -2])] }, { k: 2, block: 2 });
    const payload = Math.ceil((firstEntryFields(bytes) + 9) / 4) * 4;
    for (const bad of [NaN, Infinity, -Infinity]) {
      const b = bytes.slice();
      // f32: value 1; topk: value 0 (after count and 2 indices); int8: scale 0; topk-int8: scale 0
      new DataView(b.buffer).setFloat32(payload + off, bad, true);
      assert.is(codeOf(() => decodeFrame(reseal(b))), "non-finite", `${enc} with ${bad}`);
    }
    if (enc === "int8" || enc === "topk-int8") {
      // a finite scale so large that q·scale overflows f32
      const b = bytes.slice();
      new DataView(b.buffer).setFloat32(payload + off, 3e38, true);
      assert.is(codeOf(() => decodeFrame(reseal(b))), "non-finite", `${enc} with scale 3e38`);
    }
  }
});

test("decode: mutated frames with a valid CRC give a WireError or a well-formed frame", () => {
  fc.assert(
    fc.property(frameArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), (frame, edits) => {
      const bytes = encodeFrame(frame, CODEC);
      if (bytes.length <= 4) return;
      const b = bytes.slice();
      for (const [at, v] of edits) b[at % (b.length - 4)] = v;
      let back: Frame;
      try {
        back = decodeFrame(reseal(b));
      } catch (e) {
        assert.ok(e instanceof WireError, `not a WireError: ${String(e)}`);
        return;
      }
      for (const p of back.partitions) {
        assert.is(p.values.length, p.length);
        if (p.values instanceof Float32Array) assert.ok(p.values.every(Number.isFinite), `${p.name} decoded a non-finite value`);
      }
    }),
    { numRuns: 1000 },
  );
});

test("the wire module and everything it imports use no Node API (it runs in browsers)", () => {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, "utf8");
    for (const [, spec] of src.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      assert.ok(!spec!.startsWith("node:") && spec!.startsWith("."), `${file} imports ${spec}`);
      visit(join(dirname(file), spec!));
    }
  };
  visit(fileURLToPath(new URL("../src/federated/wire/index.js", import.meta.url)));
  assert.ok(seen.size > 5, `followed ${seen.size} modules`);
});

test.run();
