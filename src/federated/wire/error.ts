// The one exception the wire module throws for a frame it cannot encode or decode. Its code is
// what a coordinator sends back (HTTP 400/413 body "error"), so callers branch on `code`, and the
// message names the partition or byte offset for the human reading the log.

export type WireErrorCode =
  | "truncated"
  | "too-large"
  | "bad-magic"
  | "bad-version"
  | "bad-type"
  | "bad-crc"
  | "bad-partition"
  | "bad-encoding"
  | "non-finite";

export class WireError extends Error {
  override readonly name = "WireError";
  constructor(readonly code: WireErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}
