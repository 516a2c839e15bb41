// A device's part in a secure round, without transport (the FederatedClient gives it a channel):
// pack the trained update into the secure vector (clipped and quantised, every expert slot present
// so that the routing stays hidden; in a DP run clipped to L2 norm C and noised by the device
// BEFORE quantisation, secagg/noised-vector.ts), then SecAggClient's four phases against /v1/secagg/<kind>:
// POST its message, GET the coordinator's answer once the phase has closed (204: ask again after
// retry-after). Any refusal or protocol inconsistency gives up the round (the coordinator then
// sums without this device, or re-runs the round); the device's unmasked vector never leaves it.
// Browser-safe.
import type { SecureKind } from "../coordinator/coordinator.js";
import {
  messageToJson,
  parseKeyDirectory,
  parseShareDelivery,
  parseUnmaskRequest,
  SecAggClient,
  SecAggError,
  type RandomSource,
} from "../secagg/index.js";
import { cryptoNormal, noisedSpec, noisedVector, quantiseNoised, type DeviceDp } from "../secagg/noised-vector.js";
import { packSecureUpdate, type SecureLayout, type SecureUpdate } from "../secagg/update-vector.js";
import type { NormalSource } from "../dp-client.js";
import { encodeFrame } from "../wire/index.js";
import type { RoundOutput } from "./round-trainer.js";
import { errorCode, type Reply } from "./transport.js";
import { ProtocolError } from "./protocol.js";

/** What a secure round's task says besides the values (its "secagg" and "secaggBound" partitions). */
export interface SecureTask {
  /** The secure-aggregation session of this attempt (SecAggParams.round). */
  session: number;
  threshold: number;
  /** Cohort size: the most inputs summed, which sets the quantisation range. */
  clients: number;
  /** Per-coordinate clipping bound of the deltas. */
  bound: number;
}

export interface SecureChannel {
  post(kind: SecureKind, body: string | Uint8Array): Promise<Reply>;
  get(kind: Exclude<SecureKind, "masked">): Promise<Reply>;
  /** Waits before asking again (the coordinator's retry-after, in seconds). */
  wait(seconds: number): Promise<void>;
}

export type SecureOutcome = { kind: "accepted"; bytes: number } | { kind: "refused"; error: string };

/** Why the round was given up: the coordinator's error code, or the protocol's. */
class GiveUp extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

export interface SecureRoundOptions {
  /** The key pairs' and seeds' randomness (default WebCrypto). */
  random?: RandomSource;
  /** DP runs: the clip and σ the registration gave; the device then noises its vector itself. */
  dp?: DeviceDp;
  /** The noise's normal draws (default WebCrypto: unpredictable to the coordinator). */
  normal?: NormalSource;
}

/** The integer vector this device contributes: quantised (and under DP clipped and noised first). */
export function secureInput(task: SecureTask, out: RoundOutput, layout: SecureLayout, opts: SecureRoundOptions = {}): Uint32Array {
  const u: SecureUpdate = { shared: out.shared, experts: out.experts.map((e) => e.delta), routes: out.routes, samples: out.samples, loss: out.loss };
  if (!opts.dp) return packSecureUpdate(u, layout, { bound: task.bound, clients: task.clients });
  const spec = noisedSpec(opts.dp, task.threshold, layout.experts?.blocks ?? 0, task.clients);
  // both ends derive the range from (C, σ, T, n): a task that says otherwise is not this run's
  if (spec.values.bound !== task.bound) throw new ProtocolError(`task: secure DP round with range ${task.bound}, the device computes ${spec.values.bound} from the clip, sigma and threshold`);
  const noised = noisedVector(u, layout, opts.dp, spec, opts.normal ?? cryptoNormal());
  const input = quantiseNoised(noised, layout, spec);
  noised.fill(0);
  return input;
}

export async function runSecureRound(client: number, task: SecureTask, out: RoundOutput, layout: SecureLayout, ch: SecureChannel, opts: SecureRoundOptions = {}): Promise<SecureOutcome> {
  const input = secureInput(task, out, layout, opts);
  const random = opts.random;
  const sa = new SecAggClient({ round: task.session, threshold: task.threshold, length: input.length, client, random });
  let bytes = 0;
  const post = async (kind: SecureKind, body: string | Uint8Array) => {
    const reply = await ch.post(kind, body);
    if (reply.status !== 200) throw new GiveUp(errorOf(reply));
    bytes += typeof body === "string" ? new TextEncoder().encode(body).length : body.length;
  };
  const fetchText = async (kind: Exclude<SecureKind, "masked">): Promise<string> => {
    for (;;) {
      const reply = await ch.get(kind);
      if (reply.status === 200) return new TextDecoder().decode(reply.body);
      if (reply.status !== 204) throw new GiveUp(errorOf(reply));
      const s = Number(reply.headers.get("retry-after"));
      await ch.wait(Number.isFinite(s) && s >= 0 ? s : 1);
    }
  };
  try {
    await post("keys", messageToJson(await sa.advertise()));
    await post("shares", messageToJson(await sa.shareKeys(parseKeyDirectory(await fetchText("keys")))));
    const masked = await sa.maskInput(parseShareDelivery(await fetchText("shares")), input);
    input.fill(0);
    await post("masked", encodeFrame({ type: "masked", round: task.session, partitions: [{ name: "masked", encoding: "u32", length: masked.masked.length, values: masked.masked }] }));
    await post("unmask", messageToJson(await sa.unmask(parseUnmaskRequest(await fetchText("unmask")))));
    return { kind: "accepted", bytes };
  } catch (e) {
    if (e instanceof GiveUp) return { kind: "refused", error: e.code };
    if (e instanceof SecAggError) return { kind: "refused", error: e.code };
    throw e;
  }
}

function errorOf(reply: Reply): string {
  return errorCode(reply) || `http-${reply.status}`;
}
