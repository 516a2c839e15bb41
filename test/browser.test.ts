// The kernels load in a browser with no bundler or configuration: headless Chromium imports the
// compiled ES modules straight from a loopback HTTP server, instantiates the embedded WASM and
// checks a GEMM against the reference backend; the privacy accountant computes there too. CI installs Debian's chromium (.ci/run); elsewhere
// the test says how to get it and passes over the browser when it is missing.
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

function serve(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (path === "/") {
      res.writeHead(200, { "content-type": TYPES[".html"]! }).end(PAGE);
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

test("kernels and the privacy accountant load and compute in headless Chromium without a bundler", async () => {
  if (!existsSync(chromiumPath)) {
    if (process.env.CI) assert.unreachable(`CI must install Chromium (${chromiumPath} not found; see .ci/run)`);
    console.log(`  (browser check passed over: no Chromium at ${chromiumPath}; apt-get install chromium, or set CHROMIUM_PATH)`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const { server, url } = await serve();
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, { timeout: 20000 });
    const result = await page.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result);
    assert.is(result.error, undefined, String(result.error));
    assert.ok((result.maxDiff as number) < 1e-5, `GEMM in the browser differs from the reference by ${result.maxDiff}`);
    assert.match(String(result.backend), /^wasm-/);
    // Opacus's published figure, as in test/privacy.test.ts
    assert.ok(Math.abs((result.epsilon as number) - 7.32911117143) < 1e-8, `epsilon in the browser: ${result.epsilon}`);
  } finally {
    await browser.close();
    server.close();
  }
});

test.run();
