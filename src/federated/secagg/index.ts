// Secure aggregation (Bonawitz et al. 2017) without transport: browser-safe (WebCrypto only), for
// the coordinator to drive over HTTP. See README "Secure aggregation".
export { SecAggClient, type SecAggClientOptions } from "./client.js";
export { SecAggServer, type SecAggServerOptions, type ServerPhase } from "./server.js";
export { SecAggError, type SecAggErrorCode } from "./errors.js";
export { defaultThreshold, type SecAggParams } from "./params.js";
export { cryptoRandom, type RandomSource } from "./crypto.js";
export type {
  AdvertiseKeys,
  KeyDirectory,
  MaskedInput,
  PublicKeys,
  RevealedShare,
  SealedShare,
  SecAggResult,
  ShareDelivery,
  ShareKeys,
  UnmaskRequest,
  UnmaskResponse,
} from "./messages.js";
export { clipL2, dequantiseSum, quantise, quantiseInto, quantLevels, quantScale, type QuantSpec } from "./quantise.js";
export { packRouted, routedLength, unpackRouted, type RoutedLayout, type RoutedSum, type RoutedUpdate } from "./routing.js";
export {
  messageToJson,
  parseAdvertiseKeys,
  parseKeyDirectory,
  parseMaskedInput,
  parseShareDelivery,
  parseShareKeys,
  parseUnmaskRequest,
  parseUnmaskResponse,
} from "./json.js";
