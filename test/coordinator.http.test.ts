// The coordinator over HTTP on 127.0.0.1 (an ephemeral port): the API as NET-API.md says, the
// limits (request size, registered clients), slow and hung connections timed out, and fast-check
// garbage sent to /v1/update: always a 4xx, the state unchanged, the server still serving.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { connect } from "node:net";
import { startCoordinator, type RunningCoordinator, type ServeOptions } from "../src/federated/coordinator/http.js";
import { decodeFrame } from "../src/federated/wire/index.js";
import { forge, smallConfig, smallSchema, someValues, tableEnd, tempDir, updateFrame } from "./coordinator-fixtures.js";

const config = smallConfig(50);
const schema = smallSchema(config);

async function withServer(extra: Partial<ServeOptions>, body: (s: RunningCoordinator) => Promise<void>): Promise<void> {
  const t = tempDir();
  const s = await startCoordinator({ config, schema, stateDir: t.dir, ...extra });
  try {
    await body(s);
  } finally {
    await s.close();
    t.remove();
  }
}

interface Reg {
  client: number;
  token: string;
}

async function register(url: string): Promise<Reg> {
  const r = await fetch(`${url}/v1/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ label: "test" }) });
  assert.is(r.status, 200);
  return (await r.json()) as Reg;
}

const auth = (r: Reg) => ({ "x-fedfacet-client": String(r.client), authorization: `Bearer ${r.token}` });

function postUpdate(url: string, r: Reg, body: Uint8Array): Promise<Response> {
  // fetch wants an ArrayBuffer-backed view (not a SharedArrayBuffer one)
  const bytes: Uint8Array<ArrayBuffer> = new Uint8Array(body);
  return fetch(`${url}/v1/update`, { method: "POST", headers: { ...auth(r), "content-type": "application/octet-stream" }, body: bytes });
}

/** Sends raw bytes on a fresh connection; resolves with what came back once the server closes it (or after `waitMs`). */
function raw(url: string, chunks: (string | Uint8Array)[], waitMs: number): Promise<{ text: string; closed: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let text = "";
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    sock.on("data", (d) => (text += d.toString("latin1")));
    sock.on("error", () => {});
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    for (const c of chunks) sock.write(c);
  });
}

async function errorOf(r: Response): Promise<string> {
  const j = (await r.json()) as { error: string; message: string };
  assert.ok(j.message.length > 0, "an error message");
  return `${r.status} ${j.error}`;
}

test("register, task, update, status over HTTP", async () => {
  await withServer({ minClients: 2, roundDeadlineMs: 60_000 }, async ({ url, coordinator }) => {
    const a = await register(url);
    const b = await register(url);
    const late = await register(url);
    const task = await fetch(`${url}/v1/task`, { headers: auth(a) });
    assert.is(task.status, 200);
    assert.is(task.headers.get("x-fedfacet-round"), "0");
    assert.is(task.headers.get("content-type"), "application/octet-stream");
    const frame = decodeFrame(new Uint8Array(await task.arrayBuffer()));
    assert.is(frame.type, "task");
    const wait = await fetch(`${url}/v1/task`, { headers: auth(late) });
    assert.is(wait.status, 204);
    assert.ok(Number(wait.headers.get("retry-after")) >= 1);
    const up = await postUpdate(url, a, updateFrame(coordinator.shape, 0, someValues(0)));
    assert.equal(await up.json(), { accepted: true, round: 0 });
    const dup = await postUpdate(url, a, updateFrame(coordinator.shape, 0, someValues(0)));
    assert.is(await errorOf(dup), "409 duplicate");
    const again = await fetch(`${url}/v1/task`, { headers: auth(a) });
    assert.is(again.status, 204, "already submitted this round");
    await postUpdate(url, b, updateFrame(coordinator.shape, 0, someValues(1)));
    const st = (await (await fetch(`${url}/v1/status`)).json()) as Record<string, any>;
    assert.equal({ round: st.round, rounds: st.rounds, open: st.open, registered: st.clients.registered, last: st.last.round, lastClients: st.last.clients }, { round: 1, rounds: 50, open: true, registered: 3, last: 0, lastClients: 2 });
    assert.ok(st.bytes.in > 2 * 1000 && st.bytes.out > frame.partitions[0]!.length * 4, JSON.stringify(st.bytes));
    const late0 = await postUpdate(url, b, updateFrame(coordinator.shape, 0, someValues(1)));
    assert.is(await errorOf(late0), "409 round-closed");
  });
});

test("HTTP refusals: credentials, routes, methods, JSON, sizes, the client limit", async () => {
  await withServer({ maxClients: 1, maxBody: 20_000 }, async ({ url, coordinator }) => {
    const a = await register(url);
    const frame = updateFrame(coordinator.shape, 0, someValues(0));
    const cases: [string, () => Promise<Response>, string][] = [
      ["no client header", () => fetch(`${url}/v1/task`), "401 unknown-client"],
      ["bad client header", () => fetch(`${url}/v1/task`, { headers: { ...auth(a), "x-fedfacet-client": "1; drop" } }), "401 unknown-client"],
      ["unknown client", () => fetch(`${url}/v1/task`, { headers: { ...auth(a), "x-fedfacet-client": "7" } }), "401 unknown-client"],
      ["no bearer", () => fetch(`${url}/v1/task`, { headers: { "x-fedfacet-client": "1" } }), "401 bad-token"],
      ["wrong token", () => fetch(`${url}/v1/task`, { headers: { ...auth(a), authorization: `Bearer ${"0".repeat(64)}` } }), "401 bad-token"],
      ["unknown path", () => fetch(`${url}/v1/nothing`), "404 not-found"],
      ["wrong method", () => fetch(`${url}/v1/update`, { headers: auth(a) }), "405 method-not-allowed"],
      ["bad JSON", () => fetch(`${url}/v1/register`, { method: "POST", body: "{label" }), "400 bad-json"],
      ["JSON not an object", () => fetch(`${url}/v1/register`, { method: "POST", body: "[1]" }), "400 bad-json"],
      ["label not a string", () => fetch(`${url}/v1/register`, { method: "POST", body: '{"label": 5}' }), "400 bad-json"],
      ["register body too large", () => fetch(`${url}/v1/register`, { method: "POST", body: JSON.stringify({ label: "x".repeat(5000) }) }), "413 too-large"],
      ["full", () => fetch(`${url}/v1/register`, { method: "POST", body: "{}" }), "503 full"],
      ["update too large", () => postUpdate(url, a, new Uint8Array(20_001)), "413 too-large"],
      ["update not a frame", () => postUpdate(url, a, new TextEncoder().encode("hello")), "400 bad-magic"],
      ["update with bad CRC", () => postUpdate(url, a, frame.map((x, i) => (i === frame.length - 1 ? x ^ 0xff : x))), "400 bad-crc"],
    ];
    for (const [what, r, want] of cases) assert.is(await errorOf(await r()), want, what);
    // a chunked body that grows past the limit is cut off with 413 and the connection closed
    const { hostname, port } = new URL(url);
    const head = `POST /v1/update HTTP/1.1\r\nhost: ${hostname}:${port}\r\nx-fedfacet-client: 1\r\nauthorization: Bearer ${a.token}\r\ntransfer-encoding: chunked\r\n\r\n`;
    const chunk = `1000\r\n${"a".repeat(0x1000)}\r\n`;
    // the limit (20,000) is passed by the fifth and last chunk: no unread bytes that would make the
    // server's close a reset, which could discard the answer before it is read
    const big = await raw(url, [head, ...new Array(5).fill(chunk)], 3000);
    assert.match(big.text, /^HTTP\/1\.1 413/);
    assert.match(big.text, /"too-large"/);
    assert.ok(big.closed, "connection closed after the 413");
    assert.is((await fetch(`${url}/v1/status`)).status, 200, "still serving");
  });
});

test("slow and hung connections time out; the server keeps serving", async () => {
  await withServer({ bodyTimeoutMs: 300, headersTimeoutMs: 300, requestTimeoutMs: 2000 }, async ({ url }) => {
    const a = await register(url);
    const { hostname, port } = new URL(url);
    // headers, then a body that stops after 10 of 100 bytes
    const head = `POST /v1/update HTTP/1.1\r\nhost: ${hostname}:${port}\r\nx-fedfacet-client: ${a.client}\r\nauthorization: Bearer ${a.token}\r\ncontent-length: 100\r\n\r\n`;
    const started = Date.now();
    const slow = await raw(url, [head, "0123456789"], 5000);
    assert.match(slow.text, /^HTTP\/1\.1 408/);
    assert.match(slow.text, /"timeout"/);
    assert.ok(slow.closed && Date.now() - started < 3000, "answered and closed within the body timeout");
    // headers that never finish: the connection is dropped
    const hung = await raw(url, [`GET /v1/status HTTP/1.1\r\nhost: x\r\n`], 5000);
    assert.ok(hung.closed, "hung connection closed");
    assert.not.match(hung.text, /^HTTP\/1\.1 200/);
    assert.is((await fetch(`${url}/v1/status`)).status, 200, "still serving");
  });
});

test("fast-check garbage to /v1/update: always a 4xx with a JSON error, the state unchanged, the server still serves", async () => {
  await withServer({ minClients: 2 }, async ({ url, coordinator }) => {
    const a = await register(url);
    const b = await register(url);
    await postUpdate(url, b, updateFrame(coordinator.shape, 0, someValues(1)));
    const state = () => JSON.stringify(coordinator.status()) + Buffer.from(coordinator.globalValues().buffer).toString("base64");
    const before = state();
    const v = someValues(0);
    const good = updateFrame(coordinator.shape, 0, v);
    const end = tableEnd(coordinator.shape, v);
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // a valid frame's header with random bytes after it
      fc.uint8Array({ maxLength: 300 }).map((tail) => Uint8Array.from([...good.subarray(0, 14), ...tail])),
      // a valid frame with a few bytes changed anywhere, the CRC left as it was
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
        const out = good.slice();
        for (const [at, x] of edits) out[at % (out.length - 4)] ^= x;
        return out;
      }),
      // or changed in the header and partition table (version, type, round, names, encodings,
      // lengths) with the CRC fixed up: a changed payload value would be a valid update
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) =>
        forge(good, (bytes) => {
          for (const [at, x] of edits) bytes[4 + (at % (end - 4))] ^= x;
        }),
      ),
      // cut short, or with bytes appended
      fc.nat({ max: good.length - 1 }).map((n) => good.subarray(0, n)),
      fc.uint8Array({ minLength: 1, maxLength: 50 }).map((extra) => Uint8Array.from([...good, ...extra])),
    );
    await fc.assert(
      fc.asyncProperty(garbage, async (body) => {
        const r = await postUpdate(url, a, body);
        const j = (await r.json()) as { error?: string };
        assert.ok(r.status >= 400 && r.status < 500, `status ${r.status} ${JSON.stringify(j)}`);
        assert.type(j.error, "string");
        assert.is(state(), before);
      }),
      // shrinking over HTTP takes long; the failing input is reported as found
      { numRuns: 150, endOnFailure: true },
    );
    assert.is((await fetch(`${url}/v1/status`)).status, 200, "still serving");
    assert.equal(await (await postUpdate(url, a, good)).json(), { accepted: true, round: 0 }, "and takes a good update");
  });
});

test.run();
