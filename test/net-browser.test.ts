// A browser tab is a device: headless Chromium opens the page a coordinator serves at GET /, which
// loads our ES modules unbundled from /pkg/ and trains the tab's user of the coordinator's
// synthetic data, with its state in IndexedDB. It completes rounds against the local coordinator,
// and a reload carries on with the same registration from IndexedDB. The page's module list is
// the entry's import closure, free of Node APIs, and nothing outside it is served. A tab also takes
// part in a DP secure round (noising its own vector with WebCrypto), with a noise floor at the run's
// σ; the page's entry with a floor above σ (run in Node) ends with the device's refusal. Skips
// without Chromium unless CI is set (as test/browser.test.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../src/federated/config.js";
import { startCoordinator } from "../src/federated/coordinator/http.js";
import { importsOf, PackageFiles } from "../src/federated/coordinator/package-files.js";
import { runBrowserDevice, type PageProgress } from "../src/federated/net-client/browser.js";
import { PAGE_ENTRY } from "../src/federated/net-client/page.js";
import { schemaOfSource } from "../src/federated/source.js";
import { loadState } from "../src/federated/coordinator/state.js";
import { device } from "./net-device-fixtures.js";
import { lastSummary } from "./coordinator-fixtures.js";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

type Tab = Awaited<ReturnType<Awaited<ReturnType<(typeof import("playwright-core"))["chromium"]["launch"]>>["newPage"]>>;

/** Runs `f` with a headless Chromium tab and a wait for its page's end; passes over (with a note) without Chromium, unless CI is set. */
async function inChromium(f: (tab: Tab, progress: () => Promise<PageProgress>) => Promise<void>): Promise<void> {
  if (!existsSync(chromiumPath)) {
    if (process.env.CI) assert.unreachable(`CI must install Chromium (${chromiumPath} not found; see .ci/run)`);
    console.log(`  (browser device passed over: no Chromium at ${chromiumPath}; apt-get install chromium, or set CHROMIUM_PATH)`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const tab = await browser.newPage();
    await f(tab, async () => {
      await tab.waitForFunction(() => (globalThis as { __fedfacet?: PageProgress }).__fedfacet?.done === true, null, { timeout: 60_000 });
      return tab.evaluate(() => (globalThis as unknown as { __fedfacet: PageProgress }).__fedfacet);
    });
  } finally {
    await browser.close();
  }
}

test("importsOf finds static, re-export, side-effect and dynamic imports", () => {
  const src = `import { a } from "./a.js";\nimport * as b from '../b.js';\nexport { c } from "./c.js";\nexport * from "./d.js";\nimport "./e.js";\nconst f = await import("./f.js");\nconst s = "import x";`;
  assert.equal(importsOf(src), ["./a.js", "../b.js", "./c.js", "./d.js", "./e.js", "./f.js"]);
});

test("the page's modules: the entry's import closure, no Node API, and nothing else", () => {
  const pkg = PackageFiles.load(PAGE_ENTRY);
  const paths = pkg.paths();
  assert.ok(paths.includes(PAGE_ENTRY) && paths.includes("src/kernels/wasm-backend.js") && paths.includes("src/federated/wire/frame.js"));
  // the device's secure and DP side too: it noises its own vector with WebCrypto in a DP secure round
  assert.ok(paths.includes("src/federated/secagg/noised-vector.js") && paths.includes("src/federated/net-client/secure-device.js"));
  for (const p of paths) for (const spec of importsOf(pkg.get(p)!.toString("utf8"))) assert.ok(spec.startsWith("."), `${p} imports ${spec}`);
  for (const outside of ["src/federated/net-client/file-store.js", "src/cli/main.js", "src/federated/coordinator/http.js", "../package.json", "src/../../package.json"]) {
    assert.is(pkg.get(outside), undefined, outside);
  }
  assert.throws(() => PackageFiles.load("src/federated/net-client/file-store.js"), /file-store\.js imports 'node:fs', which a browser cannot load/);
});

test("a headless Chromium tab completes rounds against the local coordinator, and a reload resumes from IndexedDB", async () => {
  const config = defaultConfig("mrff");
  config.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  config.model = { ...config.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  config.rounds = 2;
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-browser-"));
  const running = await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: dir, roundDeadlineMs: 20_000 });
  try {
    // the HTTP side needs no browser: the page, a module, and refusals outside the list
    const page = await fetch(`${running.url}/`);
    assert.is(page.status, 200);
    assert.match(await page.text(), new RegExp(`import \\{ runBrowserDevice \\} from "/pkg/${PAGE_ENTRY}"`));
    const mod = await fetch(`${running.url}/pkg/${PAGE_ENTRY}`);
    assert.is(mod.status, 200);
    assert.match(mod.headers.get("content-type") ?? "", /^text\/javascript/);
    for (const bad of ["/pkg/src/cli/main.js", "/pkg/src/federated/net-client/../../cli/main.js", "/pkg/%2e%2e/package.json", "/pkg/", "/pkg/src/federated/net-client/file-store.js"]) {
      const r = await fetch(running.url + bad);
      assert.is(r.status, 404, bad);
      assert.is(((await r.json()) as { error: string }).error, "not-found");
    }
    await inChromium(async (tab, progress) => {
      await tab.goto(`${running.url}/?user=5`);
      const first = await progress();
      assert.is(first.error, null, String(first.error));
      assert.ok(first.summary!.finished, "training did not finish");
      assert.equal(first.summary!.accepted, [0, 1]);
      assert.equal(first.events.filter((e) => e.kind === "aggregated").map((e) => "round" in e && e.round), [0, 1]);
      const status = running.coordinator.status();
      assert.ok(status.finished);
      assert.equal(lastSummary(status).accepted, [first.summary!.client]);
      // the reload finds its registration in IndexedDB: no second registration, training is over
      await tab.reload();
      const second = await progress();
      assert.is(second.error, null, String(second.error));
      assert.ok(second.summary!.finished);
      assert.is(second.summary!.client, first.summary!.client);
      assert.not.ok(second.events.some((e) => e.kind === "registered"), "the reloaded tab registered again");
      assert.is(running.coordinator.status().clients.registered, 1);
    });
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a Chromium tab takes part in DP secure rounds with two Node devices: it noises its own vector with WebCrypto (its noise floor at the run's σ)", async () => {
  const config = defaultConfig("mrff");
  config.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  config.model = { ...config.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  config.rounds = 1;
  config.weighting = "uniform";
  config.participation = { ratio: 1 };
  config.dp = { epsilon: 100, delta: 1e-5, clip: 0.5, noise: "local", noiseMultiplier: 1 };
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-browser-dp-"));
  const running = await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: dir, roundDeadlineMs: 30_000, minClients: 3, secure: {} });
  try {
    await inChromium(async (tab, progress) => {
      await tab.goto(`${running.url}/?user=5&dp-min-noise=1`);
      const nodes = [2, 7].map((u) => device(running.url, u, config).run());
      const page = await progress();
      assert.is(page.error, null, String(page.error));
      assert.equal([page.summary!.finished, page.summary!.accepted], [true, [0]]);
      for (const s of await Promise.all(nodes)) assert.equal([s.finished, s.accepted], [true, [0]]);
      const h = loadState(dir)!.header.history[0]!;
      assert.equal([h.clients, h.withheld, h.skipped], [3, true, undefined]);
    });
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the page's dp-min-noise: a floor above the run's σ ends the page with the device's refusal, a bad value names itself", async () => {
  const config = defaultConfig("mrff");
  config.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  config.model = { ...config.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  config.rounds = 1;
  config.dp = { epsilon: 100, delta: 1e-5, clip: 0.5, noise: "central", noiseMultiplier: 1 };
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-browser-floor-"));
  const running = await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: dir, roundDeadlineMs: 30_000 });
  // the entry reads the page's origin: Node has no location, so it is given one
  Object.defineProperty(globalThis, "location", { value: { origin: running.url }, configurable: true });
  try {
    const page = (query: string) => runBrowserDevice(new URLSearchParams(query), () => {});
    const refused = await page("user=3&store=memory&dp-min-noise=1.5");
    assert.is(refused.error, "ClientError: round 0: the coordinator's DP run announces noise multiplier 1, below this device's minimum 1.5");
    assert.equal([refused.done, refused.events.map((e) => e.kind)], [true, ["registered"]]);
    assert.is((await page("user=3&store=memory&dp-min-noise=much")).error, "Error: dp-min-noise must be a positive number, got 'much'");
  } finally {
    delete (globalThis as { location?: unknown }).location;
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
