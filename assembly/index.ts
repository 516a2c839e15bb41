// The kernel module's export list: one family per file, plain pointer + size ABI (byte pointers).
// A kernel that needs temporaries also exports <name>_scratch(dims...) -> bytes (see common.ts).
export { heap_base, set_scratch } from "./common";
export { gemm_ab, gemm_abt, gemm_atb } from "./gemm";
export { axpy, scale, weighted_sum, l2_norm, clip_by_norm, non_finite_index } from "./vector";
