// `fedfacet train` and `fedfacet eval` as a user runs them: a separate node process on the built bin.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function fedfacet(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), "fedfacet-cli-train-"));

test("train and eval are listed; train --help describes the options", () => {
  const r = fedfacet("--help");
  assert.match(r.out, /^\s+train\s/m);
  assert.match(r.out, /^\s+eval\s/m);
  const h = fedfacet("train", "--help");
  assert.is(h.code, 0, h.err);
  for (const opt of ["--data", "--model", "--rounds", "--seed", "--workers", "--out", "--resume", "--eval-every", "--clients", "--lr", "--preset", "--user-bias", "--private-opt", "--history", "--averaging"]) assert.ok(h.out.includes(opt), opt);
});

test("bad train options are usage errors that name the option", () => {
  const cases: [string[], RegExp][] = [
    [["--rounds", "0"], /--rounds must be an integer >= 1, got '0'/],
    [["--model", "gpt"], /--model must be one of mrff, fedsasrec, local, central, got 'gpt'/],
    [["--clients", "1.5"], /--clients must be an integer >= 1/],
    [["--client-ratio", "2"], /--client-ratio must be a fraction in \(0, 1\]/],
    [["--clients", "3", "--client-ratio", "0.5"], /--clients and --client-ratio exclude each other/],
    [["--lr", "fast"], /--lr must be a positive number, got 'fast'/],
    [["--workers=-1"], /--workers must be an integer >= 0/],
    [["--backbone", "fedsasrec"], /--backbone applies to --model local and central only/],
    [["--weighting", "heavy"], /--weighting must be one of uniform, samples/],
    [["--mlp", "32,x"], /--mlp must be comma-separated positive integers/],
    [["--compression", "zip"], /--compression must be one of f32, int8, topk, topk-int8, got 'zip'/],
    [["--compression", "topk-int8"], /--compression topk-int8 needs --topk/],
    [["--topk", "0.1"], /--topk applies to --compression topk and topk-int8, not f32/],
    [["--compression", "topk", "--topk", "1.5"], /--topk must be a fraction in \(0, 1\) or an integer count >= 1/],
    [["--compression", "topk", "--topk", "0.1", "--int8-block", "64"], /--int8-block applies to --compression int8 and topk-int8/],
    [["--model", "local", "--compression", "int8"], /--compression applies to --model mrff and fedsasrec/],
    [["--frob"], /'--frob'/],
    [["--preset", "best"], /--preset must be one of reference, device, got 'best'/],
    [["--private-opt", "rmsprop"], /--private-opt must be one of shared, sgd, adam/],
    [["--private-steps", "2"], /--private-steps needs --private-opt sgd or adam/],
    [["--bias-init", "click-rate"], /--bias-init click-rate needs --user-bias/],
    [["--personal-bias", "yes"], /--personal-bias must be one of trained, eval, got 'yes'/],
    [["--user-bias", "--bias-init", "click-rate", "--personal-weight", "0.5"], /--personal-weight needs --personal-bias and --bias-init click-rate/],
    [["--lr-schedule", "cosine", "--lr-final", "2"], /--lr-final must be in \(0, 1\]/],
    [["--heads", "0"], /--heads must be an integer >= 1, got '0'/],
    [["--user-expert-init", "ones"], /--user-expert-init must be one of fan-in, zero, got 'ones'/],
    [["--history", "half"], /--history must be one of last, all/],
    [["--averaging", "median"], /--averaging must be one of all, touched/],
    [["--resume", join(dir, "nothing-here")], /--resume: no run to resume/],
    [["--data", join(dir, "no-such-folder"), "--out", join(dir, "x")], /no-such-folder/],
  ];
  for (const [args, re] of cases) {
    const r = fedfacet("train", ...args);
    assert.ok(r.code === 2 || (args[0] === "--data" && r.code === 1), `${args.join(" ")}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, re, args.join(" "));
  }
});

test("bad data and settings the data cannot take: exit 1 with the message alone, no stack", () => {
  const cases: [string[], RegExp][] = [
    [["--heads", "5", "--rounds", "1", "--out", join(dir, "h5")], /heads must divide the item vector's width d = \d+ item fields × field dim 8 = \d+, got 5/],
    [["--data", join(dir, "no-such-folder"), "--out", join(dir, "x")], /no-such-folder: cannot read this folder/],
  ];
  for (const [args, re] of cases) {
    const r = fedfacet("train", ...args);
    assert.is(r.code, 1, `${args.join(" ")}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, re, args.join(" "));
    assert.not.match(r.err, /^\s+at /m, "a stack trace");
  }
});

test("train writes the reports and a checkpoint; plain lines off a terminal; eval reads the run back", () => {
  const out = join(dir, "run");
  const r = fedfacet("train", "--rounds", "2", "--eval-every", "2", "--workers", "0", "--out", out);
  assert.is(r.code, 0, r.err);
  assert.not.match(r.out + r.err, /\r|\x1b\[/, "no progress bar when not on a terminal");
  const lines = r.out.split("\n").filter((l) => l.startsWith("round"));
  assert.is(lines.length, 1, "one line per evaluated round");
  assert.match(lines[0]!, /^round\s+2 .*val AUC 0\.\d{4}.*test AUC 0\.\d{4}/);
  assert.match(r.out, /^test\s+0\.\d{4}\s+\d\.\d{4}\s+\(95% CI 0\.\d{3}–0\.\d{3}\)/m);
  for (const f of ["report.json", "report.html", "predictions.json", "checkpoint.ffck"]) assert.ok(existsSync(join(out, f)), f);
  const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
  assert.is(report.rounds.length, 2);
  assert.is(report.rounds[0].val_auc, null, "round 1 was not evaluated");

  const again = fedfacet("train", "--out", out);
  assert.is(again.code, 2);
  assert.match(again.err, /already holds a run: continue it with --resume/);
  const mixed = fedfacet("train", "--resume", out, "--lr", "0.5");
  assert.is(mixed.code, 2);
  assert.match(mixed.err, /drop --lr/);

  const ev = fedfacet("eval", "--checkpoint", out, "--workers", "0");
  assert.is(ev.code, 0, ev.err);
  // the same parameters, the same predictions: eval recomputes the report's best round exactly
  assert.ok(ev.out.includes(`test     ${report.best.test_auc.toFixed(4)}   ${report.best.test_logloss.toFixed(4)}`), ev.out);
  const user = fedfacet("eval", "--checkpoint", out, "--user", "5", "--items", "1,2");
  assert.is(user.code, 0, user.err);
  assert.match(user.out, /^1\s+0\.\d{4}$/m);
  const nobody = fedfacet("eval", "--checkpoint", out, "--user", "123456");
  assert.is(nobody.code, 2);
  assert.match(nobody.err, /--user: no user with id '123456'/);
  const missing = fedfacet("eval");
  assert.is(missing.code, 2);
  assert.match(missing.err, /--checkpoint is required/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
