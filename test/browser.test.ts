// The kernels load in a browser with no bundler or configuration: headless Chromium imports the
// compiled ES modules straight from a loopback HTTP server, instantiates the embedded WASM and
// checks a GEMM against the reference backend (and the privacy accountant computes there); and a
// secure-aggregation round runs there on the browser's own WebCrypto. CI installs Debian's
// chromium (.ci/run); elsewhere the test says how to get it and passes over the browser when it
// is missing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "../../..");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };

const PAGE = `<!doctype html><meta charset="utf-8"><title>fedfacet kernels</title>
<script type="module">
import { loadWasmBackend, RefBackend, upload, readF, detectSimd } from "/dist/src/kernels/index.js";
import { epsilonOf } from "/dist/src/privacy/index.js";
try {
  const wasm = await loadWasmBackend();
  const ref = new RefBackend("f32");
  const M = 7, N = 9, K = 5;
  const a = Array.from({ length: M * K }, (_, i) => Math.sin(i));
  const b = Array.from({ length: K * N }, (_, i) => Math.cos(i));
  const run = (be) => { const c = be.alloc(M * N); be.gemmAB(upload(be, a), upload(be, b), c, M, N, K, 0); return Array.from(readF(be, c, M * N)); };
  const got = run(wasm), want = run(ref);
  window.__result = { backend: wasm.name, simd: detectSimd(), maxDiff: Math.max(...got.map((g, i) => Math.abs(g - want[i]))), epsilon: epsilonOf(0.04, 1.5, 2250, 1e-5).epsilon };
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
}
</script>`;

// A round with one client dropping before its masked input, the sum checked against the plain sum.
const SECAGG_PAGE = `<!doctype html><meta charset="utf-8"><title>fedfacet secure aggregation</title>
<script type="module">
import { SecAggClient, SecAggServer } from "/dist/src/federated/secagg/index.js";
try {
  const ids = [1, 2, 3, 4], params = { round: 1, threshold: 3, length: 100 };
  const server = new SecAggServer({ ...params, clients: ids });
  const clients = ids.map((client) => new SecAggClient({ ...params, client }));
  const input = (id) => Uint32Array.from({ length: params.length }, (_, i) => (id * 2654435761 + i * 40503) >>> 0);
  for (const c of clients) server.receiveAdvertise(await c.advertise());
  const directory = server.closeAdvertise();
  for (const c of clients) server.receiveShares(await c.shareKeys(directory));
  const deliveries = server.closeShares();
  const live = clients.slice(1);
  for (const c of live) server.receiveMasked(await c.maskInput(deliveries.get(c.client), input(c.client)));
  const request = server.closeMasked();
  for (const c of live) server.receiveUnmask(await c.unmask(request));
  const { sum } = await server.finish();
  const want = new Uint32Array(params.length);
  for (const c of live) input(c.client).forEach((v, i) => (want[i] += v));
  window.__result = { equal: want.every((v, i) => v === sum[i]), dropped: request.dropped };
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
}
</script>`;

function serve(page: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (path === "/") {
      res.writeHead(200, { "content-type": TYPES[".html"]! }).end(page);
      return;
    }
    const file = join(root, path);
    if (!(path.startsWith("/dist/") || path.startsWith("/build/")) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/` });
    }),
  );
}

/** What `page` leaves in window.__result, or null when there is no Chromium to run it (outside CI). */
async function inChromium(page: string): Promise<Record<string, unknown> | null> {
  if (!existsSync(chromiumPath)) {
    if (process.env.CI) assert.unreachable(`CI must install Chromium (${chromiumPath} not found; see .ci/run)`);
    console.log(`  (browser check passed over: no Chromium at ${chromiumPath}; apt-get install chromium, or set CHROMIUM_PATH)`);
    return null;
  }
  const { chromium } = await import("playwright-core");
  const { server, url } = await serve(page);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const tab = await browser.newPage();
    await tab.goto(url);
    await tab.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, { timeout: 20000 });
    return await tab.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result);
  } finally {
    await browser.close();
    server.close();
  }
}

test("kernels and the privacy accountant load and compute in headless Chromium without a bundler", async () => {
  const result = await inChromium(PAGE);
  if (!result) return;
  assert.is(result.error, undefined, String(result.error));
  assert.ok((result.maxDiff as number) < 1e-5, `GEMM in the browser differs from the reference by ${result.maxDiff}`);
  assert.match(String(result.backend), /^wasm-/);
  // Opacus's published figure, as in test/privacy.test.ts
  assert.ok(Math.abs((result.epsilon as number) - 7.32911117143) < 1e-8, `epsilon in the browser: ${result.epsilon}`);
});

test("a secure-aggregation round runs in headless Chromium on its WebCrypto (X25519, HKDF, AES)", async () => {
  const result = await inChromium(SECAGG_PAGE);
  if (!result) return;
  assert.is(result.error, undefined, String(result.error));
  assert.equal(result.dropped, [1]);
  assert.ok(result.equal, "the sum unmasked in the browser differs from the plain sum");
});

test.run();
