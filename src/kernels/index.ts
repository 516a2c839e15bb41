// Public entry of the kernel layer (package export "fedfacet/kernels"). Nothing on this path uses a
// Node-only API, so it loads unchanged in Node, browsers, Deno and Workers.
export type { Backend, BackendName, FloatArray } from "./backend.js";
export { readF, readI, readI8, upload, writeF, writeI, writeI8 } from "./backend.js";
export type { Flag, Kernels } from "./kernels.js";
export {
  NONE, attentionParamSize, attentionSaveSize, ffnParamSize, ffnSaveSize, int8Elements, int8ScaleCount,
} from "./kernels.js";
export { RefBackend, type RefPrecision } from "./ref-backend.js";
export { WasmBackend, detectSimd, loadWasmBackend, type LoadOptions, type SimdLevel } from "./wasm-backend.js";
