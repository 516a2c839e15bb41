// GEMM entry points of the kernel contract: contiguous row-major matrices.
import { sgemm_nn, sgemm_nt, sgemm_tn } from "./sgemm";

export function gemm_ab(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, accumulate: i32): void {
  sgemm_nn(M, N, K, a, K, b, N, c, N, accumulate != 0);
}

export function gemm_abt(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, accumulate: i32): void {
  sgemm_nt(M, N, K, a, K, b, K, c, N, accumulate != 0);
}

export function gemm_atb(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, accumulate: i32): void {
  sgemm_tn(M, N, K, a, M, b, N, c, N, accumulate != 0);
}
