// The parameters a round of secure aggregation is run with, known to the server and every client.
import { SecAggError } from "./errors.js";

export interface SecAggParams {
  round: number;
  /**
   * t: shares needed to reconstruct a secret, and the fewest clients any phase may continue with.
   * The server and fewer than t clients together learn nothing about the others' inputs beyond their
   * sum; more than n − t clients dropping out aborts the round.
   */
  threshold: number;
  /** Elements of every input vector. */
  length: number;
}

/** ⌊n/2⌋ + 1: a majority, so that two disjoint sets of survivors can never both reach t. */
export function defaultThreshold(clients: number): number {
  return Math.floor(clients / 2) + 1;
}

export function checkParams(p: SecAggParams): SecAggParams {
  const fail = (field: string, rule: string, v: unknown): never => {
    throw new SecAggError("bad-config", `secure aggregation: ${field} must be ${rule}, got ${String(v)}`);
  };
  if (!Number.isInteger(p.round) || p.round < 0 || p.round > 0xffffffff) fail("round", "an integer in [0, 2^32)", p.round);
  if (!Number.isInteger(p.threshold) || p.threshold < 2) fail("threshold", "an integer >= 2 (one share would reveal the secret)", p.threshold);
  if (!Number.isInteger(p.length) || p.length < 1 || p.length > 2 ** 28) fail("length", "an integer in [1, 2^28]", p.length);
  return p;
}
