// The kernel module's export list: one family per file, plain pointer + size ABI (byte pointers).
export { heap_base, set_scratch } from "./common";
export { axpy, scale, weighted_sum, l2_norm, clip_by_norm, non_finite_index } from "./vector";
