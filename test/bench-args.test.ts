// Every bench script's command line: --help prints the usage and exits 0; a bad option or argument
// prints the problem and the usage and exits 2, without a stack (bench/bench-args.ts), for the
// scripts with named options (benchArgs) and those with positional ones (benchPositionals).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), "../bench");
const run = (script: string, ...args: string[]) => spawnSync(process.execPath, [join(BENCH, script), ...args], { encoding: "utf8", timeout: 30_000 });

test("named options: --help is the usage (exit 0); an unknown option names itself (exit 2, no stack)", () => {
  const help = run("attack.js", "--help");
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: node --experimental-wasm-relaxed-simd dist\/bench\/attack.js \[options\]\n/);
  assert.match(help.stdout, /\n {2}--defences VALUE/);
  const bad = run("attack.js", "--bogus");
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^dist\/bench\/attack.js: Unknown option '--bogus'\nusage:/);
  assert.not.match(bad.stderr, /^\s+at /m);
});

test("positional arguments: --help, a non-number, an option and one argument too many", () => {
  const help = run("noised-vector.js", "--help");
  assert.is(help.status, 0, help.stderr);
  assert.is(help.stdout.trim(), "usage: node --experimental-wasm-relaxed-simd dist/bench/noised-vector.js [vectors=20] [sigma=2.94] [clip=18] [cohort=100] [threshold=51]");
  const cases: [string, string[], RegExp][] = [
    ["noised-vector.js", ["20", "lots"], /noised-vector.js: sigma must be a number, got 'lots'\nusage:/],
    ["secagg.js", ["1", "2", "3", "4", "5"], /secagg.js: 5 arguments, at most 4\nusage:/],
    ["planted-groups.js", ["--rounds", "3"], /planted-groups.js: '--rounds': this script takes positional arguments\nusage:/],
  ];
  for (const [script, args, re] of cases) {
    const r = run(script, ...args);
    assert.is(r.status, 2, `${script} ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.not.match(r.stderr, /^\s+at /m);
  }
});

test.run();
