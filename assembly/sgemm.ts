// Strided single-precision GEMM micro-kernels shared by the GEMM entry points and the fused
// kernels (attention heads, FFN). Row strides (lda, ldb, ldc) are in floats. They never use the
// host's scratch region (the fused kernels that call them own it).
// PLACEHOLDER BODIES: correct scalar loops, to be replaced by register-blocked SIMD kernels.

/** C[M×N] (+)= A[M×K]·B[K×N]. */
export function sgemm_nn(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s: f32 = accumulate ? load<f32>(c + ((<usize>(i * ldc + j)) << 2)) : 0;
      for (let k = 0; k < K; k++) s += load<f32>(a + ((<usize>(i * lda + k)) << 2)) * load<f32>(b + ((<usize>(k * ldb + j)) << 2));
      store<f32>(c + ((<usize>(i * ldc + j)) << 2), s);
    }
  }
}

/** C[M×N] (+)= A[M×K]·B[N×K]ᵀ. */
export function sgemm_nt(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s: f32 = accumulate ? load<f32>(c + ((<usize>(i * ldc + j)) << 2)) : 0;
      for (let k = 0; k < K; k++) s += load<f32>(a + ((<usize>(i * lda + k)) << 2)) * load<f32>(b + ((<usize>(j * ldb + k)) << 2));
      store<f32>(c + ((<usize>(i * ldc + j)) << 2), s);
    }
  }
}

/** C[M×N] (+)= A[K×M]ᵀ·B[K×N]. */
export function sgemm_tn(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s: f32 = accumulate ? load<f32>(c + ((<usize>(i * ldc + j)) << 2)) : 0;
      for (let k = 0; k < K; k++) s += load<f32>(a + ((<usize>(k * lda + i)) << 2)) * load<f32>(b + ((<usize>(k * ldb + j)) << 2));
      store<f32>(c + ((<usize>(i * ldc + j)) << 2), s);
    }
  }
}
