// fedfacet's public API.
export * from "./kernels/index.js";
export { Rng } from "./util/rng.js";
// On-device scoring for one user (no Node API); training lives in "fedfacet/federated".
export { DeviceScorer, deviceState, type DeviceState } from "./federated/device.js";
