// `fedfacet client` as a user runs it: its help, and each wrong command line is a usage error
// (exit 2) that names the option. (Its runs against a coordinator are in net-integration.test.ts.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function client(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "client", ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const OK = ["--server", "http://127.0.0.1:9", "--data", "synthetic", "--user", "3"];

test("client --help describes its options and exits 0", () => {
  const r = client("--help");
  assert.is(r.code, 0, r.err);
  for (const opt of ["--server", "--data", "--user", "--state", "--rounds", "--compression", "--k", "--block", "--max-backoff", "--dp-min-noise"]) assert.ok(r.out.includes(opt), opt);
});

test("wrong command lines are usage errors naming the option", () => {
  const cases: [string[], RegExp][] = [
    [["--data", "synthetic", "--user", "1"], /--server URL is required/],
    [["--server", "http://x", "--user", "1"], /--data DIR\|synthetic is required/],
    [["--server", "http://x", "--data", "synthetic"], /--user ID is required/],
    [[...OK.slice(0, 4), "--user", "three"], /--user must be a number, got 'three'/],
    [["--server", "not a url", ...OK.slice(2)], /--server must be a URL, got 'not a url'/],
    [[...OK, "--rounds", "0"], /--rounds must be an integer >= 1, got '0'/],
    [[...OK, "--compression", "zip"], /--compression must be one of f32, int8, topk, topk-int8, got 'zip'/],
    [[...OK, "--compression", "topk"], /--compression topk needs --k/],
    [[...OK, "--compression", "topk", "--k", "1.5"], /--k must be a fraction in \(0, 1\) or an integer >= 1, got '1.5'/],
    [[...OK, "--k", "0.1"], /--k applies to --compression topk and topk-int8/],
    [[...OK, "--compression", "topk", "--k", "10", "--block", "64"], /--block applies to --compression int8 and topk-int8/],
    [[...OK, "--max-backoff", "0"], /--max-backoff must be a positive number of seconds, got '0'/],
    [[...OK, "--dp-min-noise", "0"], /--dp-min-noise must be a positive number, got '0'/],
    [[...OK, "--dp-min-noise", "lots"], /--dp-min-noise must be a positive number, got 'lots'/],
    [[...OK, "--frob"], /'--frob'/],
  ];
  for (const [args, want] of cases) {
    const r = client(...args);
    assert.is(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, want);
  }
});

test.run();
