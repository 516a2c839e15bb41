// Reference (oracle) for assembly/layernorm.ts. (To be written with the kernel.)
import type { RefMem } from "./mem.js";

export function layerNormForward(_m: RefMem, _x: number, _w: number, _y: number, _save: number, _rows: number, _d: number, _eps: number): void {
  throw new Error("ref layerNormForward: not written yet");
}

export function layerNormBackward(
  _m: RefMem, _dy: number, _x: number, _w: number, _save: number, _dx: number, _dw: number, _rows: number, _d: number,
): void {
  throw new Error("ref layerNormBackward: not written yet");
}
