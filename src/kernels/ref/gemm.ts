// Reference (oracle) for assembly/gemm.ts: textbook triple loops, accumulated in f64.
import type { Flag } from "../kernels.js";
import type { RefMem } from "./mem.js";

export function gemmAB(m: RefMem, a: number, b: number, c: number, M: number, N: number, K: number, acc: Flag): void {
  const f = m.f;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = acc ? f[c + i * N + j]! : 0;
      for (let k = 0; k < K; k++) s += f[a + i * K + k]! * f[b + k * N + j]!;
      f[c + i * N + j] = s;
    }
  }
}

export function gemmABt(m: RefMem, a: number, b: number, c: number, M: number, N: number, K: number, acc: Flag): void {
  const f = m.f;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = acc ? f[c + i * N + j]! : 0;
      for (let k = 0; k < K; k++) s += f[a + i * K + k]! * f[b + j * K + k]!;
      f[c + i * N + j] = s;
    }
  }
}

export function gemmAtB(m: RefMem, a: number, b: number, c: number, M: number, N: number, K: number, acc: Flag): void {
  const f = m.f;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = acc ? f[c + i * N + j]! : 0;
      for (let k = 0; k < K; k++) s += f[a + k * M + i]! * f[b + k * N + j]!;
      f[c + i * N + j] = s;
    }
  }
}
