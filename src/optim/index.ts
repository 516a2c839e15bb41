// Optimisers over flat partition buffers.
export { Adam, ADAM_DEFAULTS, type AdamOptions } from "./adam.js";
