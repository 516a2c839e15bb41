// The `fedfacet` command as a user runs it: a separate node process on the built bin.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function fedfacet(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("--help lists the commands and exits 0", () => {
  const r = fedfacet("--help");
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Usage: fedfacet <command>/);
  assert.match(r.out, /^\s+bench\s/m);
});

test("bench kernels --help describes its options", () => {
  const r = fedfacet("bench", "kernels", "--help");
  assert.is(r.code, 0, r.err);
  for (const opt of ["--ops", "--quick", "--json"]) assert.ok(r.out.includes(opt), opt);
});

test("an unknown command is a usage error naming it", () => {
  const r = fedfacet("frobnicate");
  assert.is(r.code, 2);
  assert.match(r.err, /unknown command 'frobnicate'/);
  assert.match(r.err, /fedfacet --help/);
});

test("unknown options and op names are usage errors naming them", () => {
  const opt = fedfacet("bench", "kernels", "--frob");
  assert.is(opt.code, 2);
  assert.match(opt.err, /'--frob'/);
  const op = fedfacet("bench", "kernels", "--ops", "axpy,nosuchop");
  assert.is(op.code, 2);
  assert.match(op.err, /unknown op 'nosuchop'/);
  const target = fedfacet("bench", "nosuchbench");
  assert.is(target.code, 2);
  assert.match(target.err, /unknown benchmark 'nosuchbench'/);
});

test("bench kernels --quick --ops axpy --json writes the results document", () => {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-cli-"));
  try {
    const file = join(dir, "kernels.json");
    const r = fedfacet("bench", "kernels", "--quick", "--ops", "axpy", "--json", file);
    assert.is(r.code, 0, r.err + r.out);
    assert.match(r.out, /GFLOP\/s/);
    const doc = JSON.parse(readFileSync(file, "utf8"));
    for (const k of ["cpu", "cores", "node", "simd", "date"]) assert.ok(doc.machine[k], `machine.${k}`);
    assert.ok(doc.results.length >= 2);
    const impls = doc.results.map((x: { impl: string }) => x.impl);
    assert.ok(impls.includes("wasm-simd") && impls.includes("ref-f32"), impls.join());
    for (const row of doc.results) {
      assert.is(row.op, "axpy");
      assert.equal(row.shape, { n: 4096 });
      assert.ok(row.gflops > 0 && row.median_ns > 0, JSON.stringify(row));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
