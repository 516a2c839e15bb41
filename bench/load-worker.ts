// One worker thread of the load benchmark (bench/load.ts): `clients` simulated devices, each over
// real HTTP (fetch, keep-alive): register, then per round fetch the task (the whole payload is
// read) and send a random but valid update of the model's shape. Nothing is trained: the
// coordinator's side is what is measured. Reports progress to the main thread.
import { parentPort, workerData } from "node:worker_threads";
import { encodeFrame, type Frame } from "../src/federated/wire/index.js";
import { Rng } from "../src/util/rng.js";

export interface LoadWorkerData {
  url: string;
  clients: number;
  seed: number;
  /** Shared partition size; expert sizes at [l·groups + k]. */
  shared: number;
  blocks: number;
  groups: number;
  expertSizes: number[];
}

export type LoadMessage =
  | { kind: "registered" }
  | { kind: "accepted"; round: number }
  | { kind: "refused"; status: number; error: string }
  | { kind: "retried"; reason: string }
  | { kind: "done"; downloaded: number };

const w = workerData as LoadWorkerData;
const post = (m: LoadMessage) => parentPort!.postMessage(m);
const rng = new Rng(w.seed);
/** Distinct random updates per round, shared round-robin by this worker's devices. */
const VARIANTS = 8;
const frames = new Map<number, Uint8Array[]>();

function randomUpdate(round: number): Uint8Array {
  const routes = Int32Array.from({ length: w.blocks }, () => rng.int(w.groups));
  const delta = (n: number) => Float32Array.from({ length: n }, () => 1e-3 * rng.normal());
  const frame: Frame = {
    type: "update",
    round,
    partitions: [
      { name: "shared", encoding: "f32", length: w.shared, values: delta(w.shared) },
      ...Array.from(routes, (k, l) => {
        const n = w.expertSizes[l * w.groups + k]!;
        return { name: `group.${l}.${k}`, encoding: "f32" as const, length: n, values: delta(n) };
      }),
      { name: "routes", encoding: "i32", length: w.blocks, values: routes },
      { name: "meta", encoding: "f32", length: 2, values: Float32Array.of(40, 0.69) },
    ],
  };
  return encodeFrame(frame);
}

function updateFor(round: number, i: number): Uint8Array {
  let list = frames.get(round);
  if (!list) {
    list = Array.from({ length: VARIANTS }, () => randomUpdate(round));
    frames.set(round, list);
    frames.delete(round - 2);
  }
  return list[i % VARIANTS]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let downloaded = 0;

/** fetch, retried on network errors (a device's transport does the same), each retry reported. */
async function send(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      if (attempt >= 8) throw e;
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
      post({ kind: "retried", reason: cause });
      await sleep(100 * 2 ** attempt * (0.5 + rng.next()));
    }
  }
}

async function device(i: number): Promise<void> {
  // stagger the registrations a little, as devices coming online would
  await sleep(rng.next() * 200);
  let reg: Response;
  for (;;) {
    reg = await send(`${w.url}/v1/register`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    if (reg.status === 200) break;
    await reg.arrayBuffer();
    await sleep(500);
  }
  const { client, token } = (await reg.json()) as { client: number; token: string };
  post({ kind: "registered" });
  const headers = { "x-fedfacet-client": String(client), authorization: `Bearer ${token}` };
  for (;;) {
    const t = await send(`${w.url}/v1/task`, { headers });
    const body = await t.arrayBuffer();
    downloaded += body.byteLength;
    if (t.status === 204) {
      if (t.headers.get("x-fedfacet-finished") === "1") return;
      // retry-after can be a whole round deadline; a benchmark device comes back within a second
      const after = Number(t.headers.get("retry-after") ?? "1");
      await sleep(Math.min(after, 1) * 1000 * (0.5 + rng.next()));
      continue;
    }
    if (t.status !== 200) throw new Error(`GET /v1/task: ${t.status} ${new TextDecoder().decode(body)}`);
    const round = Number(t.headers.get("x-fedfacet-round"));
    const u = await send(`${w.url}/v1/update`, { method: "POST", body: updateFor(round, i) as BodyInit, headers: { ...headers, "content-type": "application/octet-stream" } });
    const answer = (await u.json()) as { error?: string };
    // a retried POST whose first attempt got in is a duplicate
    if (u.status === 200 || answer.error === "duplicate") post({ kind: "accepted", round });
    else post({ kind: "refused", status: u.status, error: answer.error ?? "" });
  }
}

await Promise.all(Array.from({ length: w.clients }, (_, i) => device(i)));
post({ kind: "done", downloaded });
