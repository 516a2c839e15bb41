// The `fedfacet` command restarts itself with --experimental-wasm-relaxed-simd where the runtime
// has relaxed SIMD only behind that flag (Node 20), and the restarted process behaves as the
// command: same output, exit code and signals. These tests start the bin without any node flag.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const LOADER = new URL("../src/kernels/wasm-backend.js", import.meta.url).href;
const FLAG = "--experimental-wasm-relaxed-simd";

/** What detectSimd() says in a node started with these flags. */
function levelWith(flags: string[]): string {
  const code = `import { detectSimd } from ${JSON.stringify(LOADER)}; console.log(detectSimd());`;
  const r = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", code], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : `node refused ${flags.join(" ")}`;
}

const plainLevel = levelWith([]);
const flagLevel = levelWith([FLAG]);
/** This process's environment without the opt-out, plus extra. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.FEDFACET_NO_REEXEC;
  return { ...e, ...extra };
}

function fedfacet(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000, env: env(extra) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts a short training, sends `signal` to the CLI's own pid after its first round line. */
function trainAndSignal(signal: NodeJS.Signals, out: string, workers: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  const args = [BIN, "train", "--rounds", "200", "--clients", "8", "--workers", String(workers), "--bootstrap", "10", "--out", out];
  const p = spawn(process.execPath, args, { env: env({}), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let sent = false;
  p.stdout.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
    if (!sent && /^round\s+1 /m.test(stdout)) {
      sent = true;
      p.kill(signal);
    }
  });
  p.stderr.resume();
  // "close": the process has exited AND every holder of its stdout pipe (the restarted child
  // too) has closed it, so a child left running would hang here until the test times out
  return new Promise((resolve) => p.on("close", (code, sig) => resolve({ code, signal: sig, stdout })));
}

/** The kernel build named in train's final summary line. */
const kernelsOf = (out: string) => out.match(/ · (wasm-\w+) · peak RSS/)?.[1];

const dir = mkdtempSync(join(tmpdir(), "fedfacet-relaunch-"));

test("with no flag the CLI trains on the relaxed build wherever this node can enable it, worker threads too; SIGINT (no terminal) stops after the round, exit 130", async () => {
  const want = plainLevel === "relaxed" || flagLevel === "relaxed" ? "relaxed" : plainLevel;
  // this machine's Node 20 is the case the restart exists for
  if (process.versions.node.startsWith("20.")) assert.is(want, "relaxed", `Node 20 with ${FLAG}: ${flagLevel}`);
  // the workers load the coordinator's build and would fail to start without relaxed SIMD
  const r = await trainAndSignal("SIGINT", join(dir, "int"), 2);
  assert.is(r.code, 130, r.stdout);
  assert.match(r.stdout, /stopped after round \d+ of 200/);
  assert.is(kernelsOf(r.stdout), `wasm-${want}`, r.stdout);
});

test("FEDFACET_NO_REEXEC=1, or the restart's own guard, runs the build the runtime offers by default", () => {
  for (const extra of [{ FEDFACET_NO_REEXEC: "1" }, { FEDFACET_REEXECED: "1" }] as Record<string, string>[]) {
    const r = fedfacet(["train", "--rounds", "1", "--clients", "8", "--workers", "0", "--bootstrap", "10", "--out", join(dir, "plain"), "--force"], extra);
    assert.is(r.code, 0, r.err);
    assert.is(kernelsOf(r.out), `wasm-${plainLevel}`, `${JSON.stringify(extra)}\n${r.out}`);
  }
});

test("exit codes and usage messages come through the restart", () => {
  const bad = fedfacet(["frobnicate"]);
  assert.is(bad.code, 2);
  assert.match(bad.err, /unknown command 'frobnicate'/);
  assert.is(fedfacet(["--help"]).code, 0);
});

test("SIGTERM sent to the CLI ends it (and the restarted child) by SIGTERM", async () => {
  const r = await trainAndSignal("SIGTERM", join(dir, "term"), 0);
  assert.is(r.signal, "SIGTERM", `code ${r.code}`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
