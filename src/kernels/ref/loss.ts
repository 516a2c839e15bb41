// Reference (oracle) for assembly/loss.ts. (To be written with the kernel.)
import type { RefMem } from "./mem.js";

export function bceForward(_m: RefMem, _logits: number, _labels: number, _weights: number, _n: number): number {
  throw new Error("ref bceForward: not written yet");
}

export function bceBackward(_m: RefMem, _logits: number, _labels: number, _weights: number, _dlogits: number, _n: number, _scale: number): void {
  throw new Error("ref bceBackward: not written yet");
}
