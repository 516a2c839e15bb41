// The device's side of NET-API.md's HTTP API: header names, the registration answer as read (and
// checked: a device trusts nothing it is sent), and the task frame as TaskValues. Browser-safe.
import type { DataSchema } from "../../data/schema.js";
import type { ClientConfig } from "../coordinator/coordinator.js";
import { decodeFrame, type WirePartition } from "../wire/index.js";
import type { PartitionSizes, TaskValues } from "./round-trainer.js";

export type { ClientConfig };

export const HEADERS = {
  client: "x-fedfacet-client",
  round: "x-fedfacet-round",
  aggregated: "x-fedfacet-aggregated",
  finished: "x-fedfacet-finished",
} as const;

/** What a device keeps of its registration: who it is, and the run it trains for. */
export interface RegisteredAs {
  client: number;
  token: string;
  config: ClientConfig;
  schema: DataSchema;
}

/** The coordinator answered something a device cannot work with. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The JSON body of POST /v1/register, checked field by field, and the round open then. */
export function readRegistration(body: Uint8Array): { registration: RegisteredAs; round: number } {
  let j: unknown;
  try {
    j = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new ProtocolError("register: the answer is not JSON");
  }
  const bad = (what: string): never => {
    throw new ProtocolError(`register: ${what}`);
  };
  if (!isObject(j)) return bad("the answer is not a JSON object");
  if (!(Number.isInteger(j.client) && (j.client as number) >= 1)) bad("'client' is not a positive integer");
  if (!(typeof j.token === "string" && /^[0-9a-f]{1,256}$/.test(j.token))) bad("'token' is not a hex string");
  const c = j.config;
  if (!isObject(c)) return bad("'config' is not an object");
  if (!isObject(c.model) || !isObject(c.local) || !Number.isInteger(c.seed)) bad("'config' needs model, local and an integer seed");
  if (!isObject(c.data) || (c.data.kind !== "synthetic" && c.data.kind !== "folder")) bad("'config.data.kind' must be synthetic or folder");
  const s = j.schema;
  const fields = (v: unknown) => Array.isArray(v) && v.every((f) => isObject(f) && typeof f.name === "string" && Number.isInteger(f.cardinality) && (f.cardinality as number) >= 1);
  if (!(isObject(s) && fields(s.userFields) && fields(s.itemFields))) bad("'schema' needs userFields and itemFields of {name, cardinality}");
  if (!(Number.isInteger(j.round) && (j.round as number) >= 0)) bad("'round' is not an integer >= 0");
  return { registration: { client: j.client as number, token: j.token as string, config: c as unknown as ClientConfig, schema: s as unknown as DataSchema }, round: j.round as number };
}

/** A task frame's values, checked against the model's partition sizes and block × group count. */
export function readTask(bytes: Uint8Array, sizes: PartitionSizes, cells: number): TaskValues {
  // a task carries the whole shared and group partitions raw, plus two short ones
  const frame = decodeFrame(bytes, { maxBytes: 4 * (sizes.shared + sizes.group + cells + 64) + 4096, maxPartitions: 8 });
  if (frame.type !== "task") throw new ProtocolError(`task: got a ${frame.type} frame`);
  const byName = new Map(frame.partitions.map((p) => [p.name, p]));
  const floats = (name: string, ok: (n: number) => boolean, want: string): Float32Array => {
    const p: WirePartition | undefined = byName.get(name);
    if (!p) throw new ProtocolError(`task: no '${name}' partition`);
    if (!(p.values instanceof Float32Array)) throw new ProtocolError(`task: '${name}' holds ${p.encoding}, not floats`);
    if (!ok(p.values.length)) throw new ProtocolError(`task: '${name}' has ${p.values.length} values, expected ${want}`);
    return p.values;
  };
  const shared = floats("shared", (n) => n === sizes.shared, String(sizes.shared));
  const group = floats("group", (n) => n === sizes.group, String(sizes.group));
  // empty before the first aggregate: no balance loss then
  const share = floats("groupShare", (n) => n === 0 || n === cells, `0 or ${cells}`);
  return { round: frame.round, shared, group, groupShare: share.length > 0 ? Float64Array.from(share) : null };
}
