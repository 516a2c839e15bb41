// Reference (oracle) for assembly/vector.ts: flat-buffer ops of the coordinator.
import type { RefMem } from "./mem.js";

export function axpy(m: RefMem, y: number, x: number, n: number, a: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) f[y + j] = f[y + j]! + a * f[x + j]!;
}

export function scale(m: RefMem, x: number, n: number, a: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) f[x + j] = f[x + j]! * a;
}

export function weightedSum(m: RefMem, out: number, list: number, weights: number, count: number, n: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < count; k++) s += f[weights + k]! * f[m.i[list + k]! + j]!;
    f[out + j] = s;
  }
}

export function l2Norm(m: RefMem, x: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += m.f[x + j]! * m.f[x + j]!;
  return Math.sqrt(s);
}

export function clipByNorm(m: RefMem, x: number, n: number, maxNorm: number): number {
  const norm = l2Norm(m, x, n);
  if (norm > maxNorm) scale(m, x, n, maxNorm / norm);
  return norm;
}

export function nonFiniteIndex(m: RefMem, x: number, n: number): number {
  for (let j = 0; j < n; j++) if (!Number.isFinite(m.f[x + j]!)) return j;
  return -1;
}
