// Runs whole secure-aggregation rounds in one process for the tests: n clients with seeded
// randomness, dropouts before or after the masked input, and hooks to tamper with messages.
import { SecAggClient } from "../src/federated/secagg/client.js";
import type { RandomSource } from "../src/federated/secagg/crypto.js";
import type { MaskedInput, SecAggResult, UnmaskResponse } from "../src/federated/secagg/messages.js";
import { SecAggServer } from "../src/federated/secagg/server.js";
import { Rng } from "../src/util/rng.js";

/** Deterministic bytes for reproducible tests (never for real keys). */
export function seededRandom(seed: number): RandomSource {
  const rng = new Rng(seed);
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff;
  };
}

export interface RoundSpec {
  ids: number[];
  threshold: number;
  inputs: Map<number, Uint32Array>;
  round?: number;
  seed?: number;
  /** Clients that never advertise keys. */
  absent?: number[];
  /** Clients that share keys but send no masked input. */
  dropBeforeMask?: number[];
  /** Clients that send a masked input but no unmasking response. */
  dropAfterMask?: number[];
  /** Changes a response before the server receives it. */
  tamper?: (r: UnmaskResponse) => UnmaskResponse;
  /** Carries a masked input to the server (e.g. through a wire frame). */
  carryMasked?: (m: MaskedInput) => MaskedInput;
}

export interface RoundRun {
  server: SecAggServer;
  clients: Map<number, SecAggClient>;
  result: SecAggResult;
}

export async function runRound(spec: RoundSpec): Promise<RoundRun> {
  const round = spec.round ?? 7;
  const length = spec.inputs.values().next().value!.length;
  const server = new SecAggServer({ round, threshold: spec.threshold, length, clients: spec.ids });
  const clients = new Map(spec.ids.map((id) => [id, new SecAggClient({ round, threshold: spec.threshold, length, client: id, random: seededRandom((spec.seed ?? 1) * 1000 + id) })]));
  const live = (skip: number[] = []) => [...clients.keys()].filter((id) => !skip.includes(id));
  // the clients of a phase run concurrently, as they would on their devices
  const each = <T>(ids: number[], f: (c: SecAggClient, id: number) => Promise<T>) => Promise.all(ids.map((id) => f(clients.get(id)!, id)));
  const absent = spec.absent ?? [];
  for (const m of await each(live(absent), (c) => c.advertise())) server.receiveAdvertise(m);
  const directory = server.closeAdvertise();
  for (const m of await each(live(absent), (c) => c.shareKeys(directory))) server.receiveShares(m);
  const deliveries = server.closeShares();
  const masking = live([...absent, ...(spec.dropBeforeMask ?? [])]);
  for (const m of await each(masking, (c, id) => c.maskInput(deliveries.get(id)!, spec.inputs.get(id)!))) server.receiveMasked(spec.carryMasked ? spec.carryMasked(m) : m);
  const request = server.closeMasked();
  const responding = masking.filter((id) => !(spec.dropAfterMask ?? []).includes(id));
  for (const m of await each(responding, (c) => c.unmask(request))) server.receiveUnmask(spec.tamper ? spec.tamper(m) : m);
  return { server, clients, result: await server.finish() };
}

/** Random inputs mod 2^32 for each id. */
export function randomInputs(ids: number[], length: number, seed: number): Map<number, Uint32Array> {
  const rng = new Rng(seed);
  return new Map(ids.map((id) => [id, Uint32Array.from({ length }, () => rng.nextU32())]));
}

/** Σ of the inputs of `ids` mod 2^32. */
export function plainSum(inputs: Map<number, Uint32Array>, ids: number[]): Uint32Array {
  const length = inputs.values().next().value!.length;
  const sum = new Uint32Array(length);
  for (const id of ids) {
    const x = inputs.get(id)!;
    for (let i = 0; i < length; i++) sum[i] = sum[i]! + x[i]!;
  }
  return sum;
}
