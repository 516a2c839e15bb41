// The one error type of secure aggregation. `code` lets the coordinator map a rejected message to an
// HTTP status without parsing text; the message names the client, round, field and what was wrong.

export type SecAggErrorCode =
  | "bad-config" // threshold / length / ids outside their ranges
  | "wrong-round" // a message for another round
  | "wrong-phase" // a message or call that does not belong to the current phase
  | "unknown-client" // an id that is not (or no longer) part of the round
  | "duplicate" // a second message from the same client in one phase (replay)
  | "bad-message" // wrong lengths, missing or extra entries, malformed fields
  | "bad-share" // a share that fails decryption or its consistency checks
  | "below-threshold" // fewer than t clients left: the round aborts, nothing is returned
  | "unrecoverable" // a secret cannot be reconstructed consistently: the round aborts
  | "aborted"; // any call after the round aborted

export class SecAggError extends Error {
  readonly code: SecAggErrorCode;
  constructor(code: SecAggErrorCode, message: string) {
    super(message);
    this.name = "SecAggError";
    this.code = code;
  }
}
