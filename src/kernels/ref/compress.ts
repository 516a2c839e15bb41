// Reference (oracle) for assembly/compress.ts. (To be written with the kernel.)
import type { RefMem } from "./mem.js";

export function delta(_m: RefMem, _next: number, _prev: number, _out: number, _n: number): void {
  throw new Error("ref delta: not written yet");
}

export function topkSelect(_m: RefMem, _x: number, _residual: number, _n: number, _k: number, _outIdx: number, _outVal: number): number {
  throw new Error("ref topkSelect: not written yet");
}

export function quantizeInt8(_m: RefMem, _x: number, _n: number, _block: number, _q: number, _scales: number): void {
  throw new Error("ref quantizeInt8: not written yet");
}

export function dequantizeInt8(_m: RefMem, _q: number, _scales: number, _n: number, _block: number, _out: number): void {
  throw new Error("ref dequantizeInt8: not written yet");
}
