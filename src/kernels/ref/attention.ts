// Reference (oracle) for assembly/attention.ts. (To be written with the attention kernel.)
import type { Flag } from "../kernels.js";
import type { RefMem } from "./mem.js";

export function attentionForward(
  _m: RefMem, _xq: number, _xkv: number, _w: number, _mask: number, _out: number, _save: number,
  _B: number, _T: number, _d: number, _heads: number, _causal: Flag,
): void {
  throw new Error("ref attentionForward: not written yet");
}

export function attentionBackward(
  _m: RefMem, _dout: number, _xq: number, _xkv: number, _w: number, _mask: number, _save: number,
  _dxq: number, _dxkv: number, _dw: number, _B: number, _T: number, _d: number, _heads: number, _causal: Flag,
): void {
  throw new Error("ref attentionBackward: not written yet");
}
