// Module-wide state: the first free byte after static data, and the scratch region that fused
// kernels use for temporaries. The host (src/kernels/wasm-backend.ts) owns all allocation; kernels
// never allocate.

/** First byte the host may allocate from (end of AssemblyScript's static data). */
export function heap_base(): usize {
  return __heap_base;
}

/** Set by the host before any kernel that needs temporaries runs (see scratchNeed in the host). */
export let scratchPtr: usize = 0;
export let scratchBytes: usize = 0;

export function set_scratch(ptr: usize, bytes: usize): void {
  scratchPtr = ptr;
  scratchBytes = bytes;
}
