// fedfacet's public API.
export * from "./kernels/index.js";
export { Rng } from "./util/rng.js";
