// `fedfacet privacy epsilon` and `fedfacet train --dp-*` as a user runs them: a separate node
// process on the built bin.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function fedfacet(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), "fedfacet-cli-dp-"));

test("privacy epsilon prints Opacus's figure and the best order", () => {
  const r = fedfacet("privacy", "epsilon", "--noise-multiplier", "1.5", "--sample-rate", "0.04", "--steps", "2250", "--delta", "1e-5");
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^epsilon 7\.329111 at delta 0\.00001 \(best Renyi order 3\.9;/);
  assert.match(fedfacet("--help").out, /^\s+privacy\s/m);
});

test("bad privacy arguments are usage errors naming the parameter", () => {
  const base = { "--noise-multiplier": "1", "--sample-rate": "0.1", "--steps": "10", "--delta": "1e-5" };
  const cases: [Record<string, string>, RegExp][] = [
    [{ "--noise-multiplier": "0" }, /--noise-multiplier must be a positive number, got '0'/],
    [{ "--sample-rate": "1.5" }, /--sample-rate must be in \(0, 1\], got '1.5'/],
    [{ "--steps": "2.5" }, /--steps must be an integer >= 0, got '2.5'/],
    [{ "--delta": "1" }, /--delta must be in \(0, 1\), got '1'/],
  ];
  for (const [change, re] of cases) {
    const args = Object.entries({ ...base, ...change }).flat();
    const r = fedfacet("privacy", "epsilon", ...args);
    assert.is(r.code, 2, `${args.join(" ")}: exit ${r.code}`);
    assert.match(r.err, re);
  }
  // a negative value must be attached (node's parseArgs reads "-1" as an option)
  const negative = fedfacet("privacy", "epsilon", "--noise-multiplier", "1", "--sample-rate", "0.1", "--steps=-1", "--delta", "1e-5");
  assert.is(negative.code, 2);
  assert.match(negative.err, /--steps must be an integer >= 0, got '-1'/);
  const missing = fedfacet("privacy", "epsilon", "--noise-multiplier", "1");
  assert.is(missing.code, 2);
  assert.match(missing.err, /--sample-rate is required/);
  const sub = fedfacet("privacy", "delta");
  assert.is(sub.code, 2);
  assert.match(sub.err, /unknown privacy command 'delta'/);
});

test("bad train --dp-* options are usage errors naming the option", () => {
  const cases: [string[], RegExp][] = [
    [["--dp-delta", "1e-5"], /--dp-delta needs --dp-epsilon/],
    [["--dp-epsilon", "2"], /--dp-epsilon needs --dp-delta/],
    [["--dp-epsilon", "0", "--dp-delta", "1e-5"], /--dp-epsilon must be a positive number/],
    [["--dp-epsilon", "2", "--dp-delta", "1e-5", "--dp-noise", "cloud"], /--dp-noise must be one of central, local/],
    [["--dp-epsilon", "2", "--dp-delta", "1e-5", "--dp-clip=-3"], /--dp-clip must be a positive number/],
    [["--dp-epsilon", "2", "--dp-delta", "1e-5", "--clients", "5"], /--dp-epsilon needs --client-ratio/],
    [["--dp-epsilon", "2", "--dp-delta", "1e-5", "--model", "local"], /--dp-epsilon applies to --model mrff and fedsasrec/],
    [["--dp-epsilon", "2", "--dp-delta", "1e-5", "--weighting", "samples"], /--weighting uniform/],
  ];
  for (const [args, re] of cases) {
    const r = fedfacet("train", "--out", join(dir, "never"), ...args);
    assert.is(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, re, args.join(" "));
  }
});

test("train --dp-epsilon reports ε each round and the budget in the final lines", () => {
  const out = join(dir, "run");
  const r = fedfacet("train", "--rounds", "2", "--workers", "0", "--out", out, "--client-ratio", "0.5", "--dp-epsilon", "3", "--dp-delta", "1e-5", "--dp-clip", "5");
  assert.is(r.code, 0, r.err);
  const lines = r.out.split("\n").filter((l) => l.startsWith("round"));
  assert.is(lines.length, 2);
  for (const l of lines) assert.match(l, /ε \d\.\d{3}/);
  assert.match(r.out, /differential privacy: epsilon \d\.\d{3} of 3 spent \(delta 0\.00001, noise multiplier [\d.]+, clip 5, central noise\)/);
  const rep = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
  assert.ok(rep.rounds[1].epsilon > rep.rounds[0].epsilon && rep.rounds[1].epsilon <= 3);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
