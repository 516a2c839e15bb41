// The wire format (NET-API.md): versioned binary frames for tasks and updates, their encodings
// (raw, top-k sparse, blockwise int8, masked integers) and client-side error feedback.
// Browser-safe: nothing here imports a Node API.
export { crc32 } from "./crc32.js";
export { ErrorFeedback, type ResidualStore } from "./error-feedback.js";
export { WireError, type WireErrorCode } from "./error.js";
export { decodeFrame, encodeFrame, rawFrameBytes } from "./frame.js";
export {
  DEFAULT_BLOCK, DEFAULT_LIMITS, ENCODINGS, MESSAGE_TYPES,
  type Codec, type CodecOptions, type DecodeLimits, type Encoding, type Frame, type MessageType, type WirePartition,
} from "./types.js";
