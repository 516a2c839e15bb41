// Reference (oracle) for assembly/embedding.ts. (To be written with the kernel.)
import type { RefMem } from "./mem.js";

export function embeddingGather(_m: RefMem, _table: number, _idx: number, _out: number, _n: number, _fields: number, _dim: number): void {
  throw new Error("ref embeddingGather: not written yet");
}

export function embeddingScatterAdd(_m: RefMem, _dout: number, _idx: number, _dtable: number, _n: number, _fields: number, _dim: number): void {
  throw new Error("ref embeddingScatterAdd: not written yet");
}
