// The federated device over HTTP, browser-safe (nothing here imports a Node API; the Node-only
// file store is ./file-store.js).
export { ClientError, FederatedClient, syntheticData, type ClientEvent, type ClientSummary, type FederatedClientOptions } from "./client.js";
export { IndexedDbStateStore } from "./indexeddb-store.js";
export { HEADERS, ProtocolError, readRegistration, readTask, type ClientConfig, type RegisteredAs } from "./protocol.js";
export { checkSchema, RoundTrainer, type ExpertDelta, type PartitionSizes, type RoundOutput, type RunSettings, type TaskValues } from "./round-trainer.js";
export { freshState, MemoryStateStore, type ClientState, type PendingUpdate, type Residuals, type StateStore } from "./state.js";
export { backoffDelay, retryAfterMs, RETRY_DEFAULTS, Transport, TransportError, type Reply, type RetryOptions, type TransportHooks } from "./transport.js";
export { encodeUpdate, RAW, type UpdateCompression } from "./update-frame.js";
