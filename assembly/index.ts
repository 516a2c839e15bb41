// The kernel module's export list: every export of each family file (byte-pointer ABI; see
// src/kernels/kernels.ts). A kernel that needs temporaries also exports <name>_scratch(dims...)
// returning the bytes it needs (see common.ts). Helpers shared between families live in files
// that are not listed here (simd.ts, sgemm.ts, ...), so they are not exported.
export { heap_base, set_scratch } from "./common";
export * from "./gemm";
export * from "./attention";
export * from "./ffn";
export * from "./layernorm";
export * from "./embedding";
export * from "./loss";
export * from "./adam";
export * from "./vector";
export * from "./elementwise";
export * from "./dropout";
export * from "./compress";
