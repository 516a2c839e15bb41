// Reference (oracle) for assembly/ffn.ts. (To be written with the FFN kernel.)
import type { RefMem } from "./mem.js";

export function ffnForward(
  _m: RefMem, _x: number, _w: number, _y: number, _save: number, _rows: number, _d: number, _dff: number, _drop: number,
): void {
  throw new Error("ref ffnForward: not written yet");
}

export function ffnBackward(
  _m: RefMem, _dy: number, _x: number, _w: number, _save: number, _dx: number, _dw: number,
  _rows: number, _d: number, _dff: number, _drop: number,
): void {
  throw new Error("ref ffnBackward: not written yet");
}
