// Frames for the wire tests: fast-check arbitraries of valid frames, a fixed sample frame with
// every encoding, and byte surgery helpers (re-sealing a frame's CRC after an edit).
import fc from "fast-check";
import { crc32 } from "../src/federated/wire/crc32.js";
import type { Encoding, Frame, MessageType, WirePartition } from "../src/federated/wire/index.js";

export const f32 = Math.fround;

/** Floats of every size the codecs meet (no NaN/Inf; |x| ≤ 1e30 so sums stay far from overflow). */
export const floatValue = fc.oneof(
  fc.float({ min: f32(-1e30), max: f32(1e30), noNaN: true }),
  fc.double({ min: -1, max: 1, noNaN: true }).map(f32),
  fc.constant(0),
);

export function partition(name: string, encoding: Encoding, values: number[]): WirePartition {
  const arr = encoding === "i32" ? Int32Array.from(values) : encoding === "u32" ? Uint32Array.from(values) : Float32Array.from(values);
  return { name, encoding, length: arr.length, values: arr };
}

const ALL: Encoding[] = ["f32", "i32", "topk", "int8", "topk-int8", "u32"];

/** A valid frame: up to 6 partitions with distinct names, every encoding, lengths 0..200. */
export const frameArb: fc.Arbitrary<Frame> = fc
  .record({
    type: fc.constantFrom<MessageType>("task", "update", "masked", "keys", "shares", "unmask"),
    round: fc.nat({ max: 0xffffffff }),
    parts: fc.uniqueArray(
      fc.record({
        name: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => new TextEncoder().encode(s).length <= 255),
        encoding: fc.constantFrom(...ALL),
        n: fc.nat({ max: 200 }),
        seed: fc.integer(),
      }),
      { maxLength: 6, selector: (p) => p.name },
    ),
  })
  .map(({ type, round, parts }) => ({
    type,
    round,
    partitions: parts.map(({ name, encoding, n, seed }) => {
      // deterministic values from the seed: cheaper to shrink than arrays of arrays
      let s = seed >>> 0;
      const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
      const values = Array.from({ length: n }, () =>
        encoding === "i32" ? next() | 0 : encoding === "u32" ? next() : f32(((next() / 2 ** 32) * 2 - 1) * 10 ** ((next() % 9) - 4)),
      );
      return partition(name, encoding, values);
    }),
  }));

/** A frame with one partition of every encoding (and the names an update uses). */
export function sampleFrame(): Frame {
  const ramp = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
  return {
    type: "update",
    round: 7,
    partitions: [
      partition("shared", "f32", ramp(37, (i) => Math.sin(i) * 3)),
      partition("routes", "i32", [2, -1, 0]),
      partition("group.0.1", "topk", ramp(50, (i) => Math.cos(i * 1.7))),
      partition("group.1.3", "int8", ramp(41, (i) => (i % 7) - 3.25)),
      partition("sparse", "topk-int8", ramp(60, (i) => Math.sin(i * 0.3) * i)),
      partition("masked", "u32", [0, 1, 0xffffffff, 12345]),
    ],
  };
}

/** Recomputes the CRC after the bytes before it were edited. */
export function reseal(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out, 0, out.length - 4), true);
  return out;
}

/** Byte offset of the first table entry's fixed fields (after its name). */
export function firstEntryFields(bytes: Uint8Array): number {
  return 14 + 1 + bytes[14]!;
}
