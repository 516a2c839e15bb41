// A Backend is the kernel contract (kernels.ts) plus the memory it works on: allocation and typed
// access. Views are fetched through getters on every use, because growing WASM memory detaches
// the previous ArrayBuffer: never keep a view across an allocation.
import type { Kernels } from "./kernels.js";

export type FloatArray = Float32Array | Float64Array;

export type BackendName = "wasm-simd" | "wasm-relaxed" | "ref-f32" | "ref-f64";

export interface Backend extends Kernels {
  readonly name: BackendName;
  /** Allocates n elements (16-byte aligned), filled with zeros. */
  alloc(n: number): number;
  /** Frees an allocation made by alloc. */
  free(offset: number): void;
  /** Float view of the whole memory (element offsets index it directly). */
  readonly f: FloatArray;
  /** Int32 view of the whole memory. */
  readonly i: Int32Array;
  /** Int8 view of the whole memory (byte offsets: 4·element offset). */
  readonly i8: Int8Array;
}

/** Copies values into the backend at an element offset. */
export function writeF(be: Backend, offset: number, data: ArrayLike<number>): void {
  be.f.set(data, offset);
}

/** Copies n floats out of the backend, as f64. */
export function readF(be: Backend, offset: number, n: number): Float64Array {
  return Float64Array.from(be.f.subarray(offset, offset + n));
}

export function writeI(be: Backend, offset: number, data: ArrayLike<number>): void {
  be.i.set(data, offset);
}

export function readI(be: Backend, offset: number, n: number): Int32Array {
  return be.i.slice(offset, offset + n);
}

/** Reads n int8 values of a buffer at element offset q. */
export function readI8(be: Backend, q: number, n: number): Int8Array {
  return be.i8.slice(4 * q, 4 * q + n);
}

export function writeI8(be: Backend, q: number, data: ArrayLike<number>): void {
  be.i8.set(data, 4 * q);
}

/** Allocates and fills a float tensor. */
export function upload(be: Backend, data: ArrayLike<number>): number {
  const off = be.alloc(data.length);
  writeF(be, off, data);
  return off;
}
