// Reference (oracle) for assembly/compress.ts: the contract read literally, with a sort for
// top-k. Values are re-read from storage after each write, so the f32 backend ranks and
// quantises exactly the rounded values the kernel sees.
import type { RefMem } from "./mem.js";

export function delta(m: RefMem, next: number, prev: number, out: number, n: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) f[out + j] = f[next + j]! - f[prev + j]!;
}

/** Orders by |u| descending (NaN above everything, as its bit pattern in the kernel), then by index. */
function byMagnitude(u: ArrayLike<number>): (a: number, b: number) => number {
  return (a, b) => {
    const na = Number.isNaN(u[a]!);
    const nb = Number.isNaN(u[b]!);
    if (na !== nb) return na ? -1 : 1;
    if (!na && Math.abs(u[a]!) !== Math.abs(u[b]!)) return Math.abs(u[b]!) - Math.abs(u[a]!);
    return a - b;
  };
}

export function topkSelect(m: RefMem, x: number, residual: number, n: number, k: number, outIdx: number, outVal: number): number {
  const f = m.f;
  for (let j = 0; j < n; j++) f[residual + j] = f[x + j]! + f[residual + j]!;
  const u = f.slice(residual, residual + n);
  const take = Math.max(Math.min(k, n), 0);
  const kept = Array.from({ length: n }, (_, j) => j)
    .sort(byMagnitude(u))
    .slice(0, take)
    .sort((a, b) => a - b);
  kept.forEach((j, c) => {
    m.i[outIdx + c] = j;
    f[outVal + c] = u[j]!;
    f[residual + j] = 0;
  });
  return take;
}

function roundHalfAway(v: number): number {
  const t = Math.trunc(v);
  return Math.abs(v - t) >= 0.5 ? t + Math.sign(v) : t;
}

export function quantizeInt8(m: RefMem, x: number, n: number, block: number, q: number, scales: number): void {
  const f = m.f;
  for (let s = 0, b = 0; s < n; s += block, b++) {
    const len = Math.min(block, n - s);
    let amax = 0;
    for (let j = 0; j < len; j++) amax = Math.max(amax, Math.abs(f[x + s + j]!));
    f[scales + b] = amax / 127;
    const scale = f[scales + b]!;
    for (let j = 0; j < len; j++) {
      m.i8[4 * q + s + j] = scale === 0 ? 0 : Math.min(Math.max(roundHalfAway(f[x + s + j]! / scale), -127), 127);
    }
  }
}

export function dequantizeInt8(m: RefMem, q: number, scales: number, n: number, block: number, out: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) f[out + j] = m.i8[4 * q + j]! * f[scales + Math.floor(j / block)]!;
}
