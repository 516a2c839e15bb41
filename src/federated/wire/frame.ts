// The frame (NET-API.md), little-endian:
//   magic "FFWF" | version u16 | type u8 | flags u8 (0) | round u32 | partition count u16 |
//   per partition { name length u8 | name UTF-8 | encoding u8 | dense length u32 | payload bytes u32 } |
//   payloads, each starting at a 4-byte offset (zero padding between) | CRC-32 of all before it.
// Decoding reads the header and table first, so a cut frame reports "truncated" and a frame whose
// table lies about its lengths "truncated" or "bad-partition"; then the CRC; then the payloads.
import { crc32 } from "./crc32.js";
import { WireError } from "./error.js";
import { encodePayload } from "./payload-encode.js";
import { decodePayload, type PayloadRef } from "./payload-decode.js";
import {
  align4, CRC_BYTES, DEFAULT_LIMITS, ENCODING_NAMES, ENCODINGS, ENTRY_FIXED_BYTES, FLOAT_ENCODINGS, HEADER_BYTES, MAGIC,
  MESSAGE_TYPES, TYPE_NAMES, VERSION, type Codec, type DecodeLimits, type Frame, type WirePartition,
} from "./types.js";

/** The residual a partition's compression starts from and leaves its loss in; null: none. */
export type ResidualOf = (p: WirePartition) => Float32Array | null;

const utf8 = new TextEncoder();

export function encodeFrame(frame: Frame, codec: Codec = {}): Uint8Array {
  return encodeWith(frame, codec, () => null);
}

/** encodeFrame with error feedback: ErrorFeedback supplies each lossy partition's residual. */
export function encodeWith(frame: Frame, codec: Codec, residualOf: ResidualOf): Uint8Array {
  const type = MESSAGE_TYPES[frame.type];
  if (type === undefined) throw new WireError("bad-type", `unknown message type '${frame.type}'`);
  if (!(Number.isInteger(frame.round) && frame.round >= 0 && frame.round <= 0xffffffff)) throw new WireError("bad-partition", `round ${frame.round} is not a u32`);
  const parts = frame.partitions;
  if (parts.length > 0xffff) throw new WireError("too-large", `${parts.length} partitions (at most 65535)`);
  const seen = new Set<string>();
  const entries = parts.map((p) => {
    const name = utf8.encode(p.name);
    if (name.length < 1 || name.length > 255) throw new WireError("bad-partition", `partition name '${p.name}' is ${name.length} bytes of UTF-8 (1-255)`);
    if (seen.has(p.name)) throw new WireError("bad-partition", `partition '${p.name}' appears twice`);
    seen.add(p.name);
    const code = ENCODINGS[p.encoding];
    if (code === undefined) throw new WireError("bad-encoding", `partition '${p.name}': unknown encoding '${p.encoding}'`);
    const options = typeof codec === "function" ? codec(p) : codec;
    // every float encoding takes a residual: a lossless one sends it in full and clears it
    const payload = encodePayload(p, options, FLOAT_ENCODINGS.has(p.encoding) ? residualOf(p) : null);
    return { name, code, length: p.length, payload };
  });
  const table = entries.reduce((s, e) => s + ENTRY_FIXED_BYTES + e.name.length, 0);
  const start = align4(HEADER_BYTES + table);
  const total = entries.reduce((s, e) => s + align4(e.payload.length), start) + CRC_BYTES;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint16(4, VERSION, true);
  dv.setUint8(6, type);
  dv.setUint8(7, 0);
  dv.setUint32(8, frame.round, true);
  dv.setUint16(12, entries.length, true);
  let t = HEADER_BYTES;
  let at = start;
  for (const e of entries) {
    dv.setUint8(t, e.name.length);
    out.set(e.name, t + 1);
    t += 1 + e.name.length;
    dv.setUint8(t, e.code);
    dv.setUint32(t + 1, e.length, true);
    dv.setUint32(t + 5, e.payload.length, true);
    t += 9;
    out.set(e.payload, at);
    at += align4(e.payload.length);
  }
  dv.setUint32(at, crc32(out, 0, at), true);
  return out;
}

/**
 * Bytes of a frame whose partitions all travel raw (f32, i32, u32: 4 bytes a value), from the
 * names and lengths alone: what an uncompressed exchange costs without building it.
 */
export function rawFrameBytes(partitions: readonly { name: string; length: number }[]): number {
  let table = 0;
  let payloads = 0;
  for (const p of partitions) {
    table += ENTRY_FIXED_BYTES + utf8.encode(p.name).length;
    payloads += 4 * p.length;
  }
  return align4(HEADER_BYTES + table) + payloads + CRC_BYTES;
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

export function decodeFrame(bytes: Uint8Array, limits: DecodeLimits = {}): Frame {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const n = bytes.length;
  if (n > lim.maxBytes) throw new WireError("too-large", `frame of ${n} bytes exceeds the limit of ${lim.maxBytes}`);
  const minimum = align4(HEADER_BYTES) + CRC_BYTES;
  if (n < 4) throw new WireError("truncated", `frame of ${n} bytes is shorter than the magic`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) throw new WireError("bad-magic", `bytes 0-3 are not "FFWF"`);
  if (n < minimum) throw new WireError("truncated", `frame of ${n} bytes is shorter than the smallest frame (${minimum})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
  const version = dv.getUint16(4, true);
  if (version !== VERSION) throw new WireError("bad-version", `version ${version}, this decoder reads ${VERSION}`);
  const flags = dv.getUint8(7);
  if (flags !== 0) throw new WireError("bad-version", `flags byte is ${flags}, version ${VERSION} defines none`);
  const typeCode = dv.getUint8(6);
  const type = TYPE_NAMES.get(typeCode);
  if (type === undefined) throw new WireError("bad-type", `message type ${typeCode} is not assigned`);
  const round = dv.getUint32(8, true);
  const count = dv.getUint16(12, true);
  if (count > lim.maxPartitions) throw new WireError("too-large", `${count} partitions exceed the limit of ${lim.maxPartitions}`);

  // the table: everything must lie before the CRC
  const refs: PayloadRef[] = [];
  const names = new Set<string>();
  let t = HEADER_BYTES;
  let elements = 0;
  const need = (upTo: number, what: string) => {
    if (upTo > n - CRC_BYTES) throw new WireError("truncated", `${what} ends at byte ${upTo}, the frame's payload area ends at ${n - CRC_BYTES}`);
  };
  for (let i = 0; i < count; i++) {
    need(t + 1, `partition ${i}'s name length`);
    const len = dv.getUint8(t);
    need(t + 1 + len + 9, `partition ${i}'s table entry`);
    let name: string;
    try {
      name = utf8Strict.decode(bytes.subarray(t + 1, t + 1 + len));
    } catch {
      throw new WireError("bad-partition", `partition ${i}'s name (table byte ${t + 1}) is not UTF-8`);
    }
    if (len === 0) throw new WireError("bad-partition", `partition ${i} has an empty name (table byte ${t})`);
    if (names.has(name)) throw new WireError("bad-partition", `partition '${name}' appears twice`);
    names.add(name);
    t += 1 + len;
    const code = dv.getUint8(t);
    const encoding = ENCODING_NAMES.get(code);
    if (encoding === undefined) throw new WireError("bad-encoding", `partition '${name}': encoding ${code} is unknown (table byte ${t})`);
    const length = dv.getUint32(t + 1, true);
    elements += length;
    if (elements > lim.maxElements) throw new WireError("too-large", `partition '${name}' takes the frame to ${elements} values, beyond the limit of ${lim.maxElements}`);
    refs.push({ name, encoding, length, at: 0, bytes: dv.getUint32(t + 5, true) });
    t += 9;
  }
  let at = align4(t);
  for (const r of refs) {
    r.at = at;
    at += align4(r.bytes);
    need(at, `partition '${r.name}'s payload of ${r.bytes} bytes (from byte ${r.at})`);
  }
  if (at + CRC_BYTES !== n) throw new WireError("bad-partition", `the table accounts for ${at + CRC_BYTES} bytes, the frame has ${n}`);
  const crc = dv.getUint32(at, true);
  const actual = crc32(bytes, 0, at);
  if (crc !== actual) throw new WireError("bad-crc", `CRC-32 is ${hex(actual)}, the frame says ${hex(crc)}`);
  // padding is part of the canonical form: a frame has one encoding, byte for byte
  const zeros = (from: number, where: string) => {
    for (let i = from; i < align4(from); i++) if (bytes[i] !== 0) throw new WireError("bad-partition", `padding byte ${i} ${where} is not 0`);
  };
  zeros(t, "after the partition table");
  for (const r of refs) zeros(r.at + r.bytes, `after partition '${r.name}'`);
  const partitions = refs.map((r): WirePartition => ({ name: r.name, encoding: r.encoding, length: r.length, values: decodePayload(dv, r) }));
  return { type, round, partitions };
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;
