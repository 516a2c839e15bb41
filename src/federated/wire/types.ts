// The frame's vocabulary (NET-API.md): message types, payload encodings and their one-byte codes,
// and the decoded shapes. A partition always carries its DENSE values; the encoding says how they
// travel (raw, sparse, quantised) and decoding gives dense values back.
import type { Backend } from "../../kernels/backend.js";

export const MAGIC = [0x46, 0x46, 0x57, 0x46]; // "FFWF"
export const VERSION = 1;
/** magic 4 | version 2 | type 1 | flags 1 | round 4 | partition count 2 */
export const HEADER_BYTES = 14;
/** name length 1 | encoding 1 | dense length 4 | payload byte length 4 (plus the name) */
export const ENTRY_FIXED_BYTES = 10;
export const CRC_BYTES = 4;

/**
 * 1 task (coordinator → client), 2 update (client → coordinator), 3 masked update and 4–6 the
 * key/share/unmask messages of secure aggregation (issue 5); 7–15 stay reserved for it.
 */
export const MESSAGE_TYPES = { task: 1, update: 2, masked: 3, keys: 4, shares: 5, unmask: 6 } as const;
export type MessageType = keyof typeof MESSAGE_TYPES;

/**
 * 0 f32 raw; 1 i32 raw (routes, counts); 2 top-k sparse (u32 indices ascending + f32 values);
 * 3 blockwise int8 (block, f32 scale per block, i8 values); 4 top-k + int8; 5 u32 (masked integer
 * vectors of secure aggregation, mod 2^32 or less: the modulus is the protocol's, not the frame's).
 */
export const ENCODINGS = { f32: 0, i32: 1, topk: 2, int8: 3, "topk-int8": 4, u32: 5 } as const;
export type Encoding = keyof typeof ENCODINGS;

export const TYPE_NAMES = new Map<number, MessageType>(Object.entries(MESSAGE_TYPES).map(([k, v]) => [v, k as MessageType]));
export const ENCODING_NAMES = new Map<number, Encoding>(Object.entries(ENCODINGS).map(([k, v]) => [v, k as Encoding]));

/** Encodings whose values are floats (and which error feedback applies to). */
export const FLOAT_ENCODINGS: ReadonlySet<Encoding> = new Set(["f32", "topk", "int8", "topk-int8"]);

export interface WirePartition {
  /** 1–255 bytes of UTF-8, unique in the frame. */
  name: string;
  encoding: Encoding;
  /** Decoded dense length (= values.length). */
  length: number;
  /** Float32Array for f32/topk/int8/topk-int8, Int32Array for i32, Uint32Array for u32. */
  values: Float32Array | Int32Array | Uint32Array;
}

export interface Frame {
  type: MessageType;
  /** u32. */
  round: number;
  partitions: WirePartition[];
}

/** How a lossy partition is compressed. */
export interface CodecOptions {
  /**
   * topk, topk-int8: entries kept. In (0, 1): a fraction of the partition's length (rounded up);
   * an integer ≥ 1: a count (at most the length).
   */
  k?: number;
  /** int8, topk-int8: values per quantisation block (default DEFAULT_BLOCK). */
  block?: number;
  /**
   * Kernels that run the selection and quantisation (kernels.ts semantics); default: the f32
   * reference backend (plain TypeScript). A worker passes its WASM backend for speed.
   */
  backend?: Backend;
}
/** One choice for every partition, or a choice per partition. */
export type Codec = CodecOptions | ((p: WirePartition) => CodecOptions);

/** A 4-byte scale per 128 one-byte values: 3% on top of the int8 payload. */
export const DEFAULT_BLOCK = 128;

export interface DecodeLimits {
  /** Largest frame accepted (default 64 MiB). */
  maxBytes?: number;
  /** Most partitions accepted (default 4096). */
  maxPartitions?: number;
  /**
   * Most decoded values over all partitions (default 2^24). Sparse encodings claim a dense length
   * their bytes do not pay for, so this bounds what a small frame can make the decoder allocate.
   */
  maxElements?: number;
}

export const DEFAULT_LIMITS: Required<DecodeLimits> = { maxBytes: 64 << 20, maxPartitions: 4096, maxElements: 1 << 24 };

/** n rounded up to a multiple of 4 (payloads and the CRC sit at 4-byte offsets). */
export const align4 = (n: number): number => Math.ceil(n / 4) * 4;
