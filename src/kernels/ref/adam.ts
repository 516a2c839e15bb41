// Reference (oracle) for assembly/adam.ts. (To be written with the kernel.)
import type { RefMem } from "./mem.js";

export function adamStep(
  _m: RefMem, _p: number, _g: number, _mom: number, _v: number, _n: number,
  _lr: number, _beta1: number, _beta2: number, _eps: number, _weightDecay: number, _step: number,
): void {
  throw new Error("ref adamStep: not written yet");
}
