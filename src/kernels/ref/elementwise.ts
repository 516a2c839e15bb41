// Reference (oracle) for assembly/elementwise.ts.
import type { RefMem } from "./mem.js";

export function add(m: RefMem, a: number, b: number, out: number, n: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) f[out + j] = f[a + j]! + f[b + j]!;
}

export function mul(m: RefMem, a: number, b: number, out: number, n: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) f[out + j] = f[a + j]! * f[b + j]!;
}

export function mulRowMask(m: RefMem, x: number, mask: number, rows: number, cols: number): void {
  const f = m.f;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) f[x + r * cols + c] = f[x + r * cols + c]! * f[mask + r]!;
}

export function addRowVector(m: RefMem, y: number, b: number, rows: number, cols: number): void {
  const f = m.f;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) f[y + r * cols + c] = f[y + r * cols + c]! + f[b + c]!;
}

export function colSumAcc(m: RefMem, x: number, out: number, rows: number, cols: number): void {
  const f = m.f;
  for (let c = 0; c < cols; c++) {
    let s = f[out + c]!;
    for (let r = 0; r < rows; r++) s += f[x + r * cols + c]!;
    f[out + c] = s;
  }
}

export function reluForward(m: RefMem, x: number, y: number, n: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) f[y + j] = Math.max(f[x + j]!, 0);
}

export function reluBackward(m: RefMem, dy: number, x: number, dx: number, n: number): void {
  const f = m.f;
  for (let j = 0; j < n; j++) if (f[x + j]! > 0) f[dx + j] = f[dx + j]! + f[dy + j]!;
}
