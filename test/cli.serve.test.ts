// fedfacet serve's command line (usage errors name their option, exit 2), its data spec, and the
// schema a coordinator reads from a folder's feature tables alone: the same field vocabulary a
// client gets from loading the whole folder.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../src/cli/command.js";
import { configFromArgs, parseTrainArgs } from "../src/cli/train-options.js";
import { parseDataSpec, parseServeArgs, SECAGG_BOUND, seconds, secureOptions, serveConfig } from "../src/cli/serve-options.js";
import { readFolder, readFolderSchema, writeFolder } from "../src/data/folder.js";
import { dataSchemaOf } from "../src/data/schema.js";
import { generateSynthetic } from "../src/data/synthetic.js";
import { tableOf } from "../src/data/table.js";

const BIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function fedfacet(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("serve --help lists its options; a bad command line exits 2 naming the problem", () => {
  const help = fedfacet("serve", "--help");
  assert.is(help.code, 0, help.err);
  for (const opt of ["--state", "--data-spec", "--clients-per-round", "--updates-per-round", "--min-clients", "--round-deadline", "--max-body", "--max-clients", "--aggregator", "--aggregator-tensors", "--trim", "--norm-bound", "--agree"]) assert.ok(help.out.includes(opt), opt);
  const r = fedfacet("serve");
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--state DIR is required/);
});

test("bad option values are usage errors naming the option", () => {
  const cases: [string[], RegExp][] = [
    [["--data-spec", "synthetic:bogus=1"], /--data-spec: 'bogus=1' names no synthetic option/],
    [["--data-spec", "synthetic:users=many"], /--data-spec: 'users=many' needs a number/],
    [["--model", "local"], /--model: the coordinator trains mrff or fedsasrec, not local/],
    [["--clients-per-round", "0"], /--clients-per-round must be an integer >= 1/],
    [["--lr", "0"], /--lr must be a positive number/],
    [["--workers", "2"], /'--workers'/],
  ];
  for (const [args, msg] of cases) assert.throws(() => serveConfig(parseServeArgs(args)), (e: unknown) => e instanceof UsageError && msg.test(e.message), args.join(" "));
  assert.throws(() => seconds("round-deadline", "0"), /--round-deadline must be a positive number of seconds/);
  assert.is(seconds("round-deadline", "1.5"), 1500);
});

test("--secure-aggregation: its options, the least clients a round needs, uniform weighting; misuse names the option", () => {
  const secure = (...args: string[]) => {
    const a = parseServeArgs(args);
    const config = serveConfig(a);
    return { ...secureOptions(a, config, a["min-clients"] === undefined ? undefined : Number(a["min-clients"])), weighting: config.weighting };
  };
  assert.equal(secure(), { minClients: undefined, weighting: "uniform" });
  assert.equal(secure("--secure-aggregation"), { secure: { bound: SECAGG_BOUND, threshold: undefined }, minClients: 3, weighting: "uniform" });
  assert.equal(secure("--secure-aggregation", "--secagg-threshold", "4", "--secagg-bound", "0.5"), { secure: { bound: 0.5, threshold: 4 }, minClients: 4, weighting: "uniform" });
  // with DP the devices noise inside the secure round (local), and the range follows from the clip
  assert.equal(secure("--secure-aggregation", "--dp-epsilon", "4", "--dp-delta", "1e-5"), { secure: { threshold: undefined }, minClients: 3, weighting: "uniform" });
  assert.is(serveConfig(parseServeArgs(["--secure-aggregation", "--dp-epsilon", "4", "--dp-delta", "1e-5"])).dp?.noise, "local");
  const cases: [string[], RegExp][] = [
    [["--secagg-threshold", "3"], /--secagg-threshold needs --secure-aggregation/],
    [["--secure-aggregation", "--secagg-threshold", "1"], /--secagg-threshold must be an integer >= 2/],
    [["--secure-aggregation", "--secagg-bound", "0"], /--secagg-bound must be a positive number/],
    [["--secure-aggregation", "--weighting", "samples"], /--weighting samples: secure aggregation weighs every client 1/],
    [["--secure-aggregation", "--dp-epsilon", "4", "--dp-delta", "1e-5", "--dp-noise", "central"], /--dp-noise central with --secure-aggregation/],
    [["--dp-epsilon", "4", "--dp-delta", "1e-5", "--dp-noise", "local"], /--dp-noise local needs --secure-aggregation/],
    [["--secure-aggregation", "--dp-epsilon", "4", "--dp-delta", "1e-5", "--secagg-bound", "0.5"], /--secagg-bound with --dp-epsilon/],
    [["--secure-aggregation", "--dp-epsilon", "4", "--dp-delta", "1e-5", "--secagg-threshold", "3"], /--secagg-threshold with --dp-epsilon/],
    [["--secure-aggregation", "--secagg-threshold", "5", "--min-clients", "4"], /--min-clients 4: secure aggregation needs at least 5 clients/],
  ];
  for (const [args, msg] of cases) assert.throws(() => secure(...args), (e: unknown) => e instanceof UsageError && msg.test(e.message), args.join(" "));
});

test("--preset device gives the coordinator train's device settings; what the network cannot run is a usage error", () => {
  const c = serveConfig(parseServeArgs(["--preset", "device"]));
  const t = configFromArgs(parseTrainArgs(["--preset", "device"]));
  assert.equal([c.model, c.local, c.averaging], [t.model, t.local, t.averaging]);
  assert.is(c.local.private?.biasInit, "click-rate");
  assert.is(c.model.personalBias, "eval");
  // its parts one by one, and an override of the preset's averaging
  const parts = serveConfig(parseServeArgs(["--user-bias", "--personal-bias", "eval", "--bias-init", "click-rate", "--private-opt", "sgd", "--personal-weight", "0.5", "--averaging", "touched"]));
  assert.equal([parts.model.userBias, parts.local.private?.personalWeight, parts.averaging], [true, 0.5, "touched"]);
  assert.is(serveConfig(parseServeArgs(["--preset", "device", "--averaging", "all"])).averaging, "all");
  const dp = ["--dp-epsilon", "4", "--dp-delta", "1e-5"];
  const cases: [string[], RegExp][] = [
    [["--private-opt", "adam"], /--private-opt adam: a device keeps no private optimiser state/],
    [["--preset", "device", ...dp], /--preset device \(touched averaging\) with --dp-epsilon/],
    [["--averaging", "touched", "--secure-aggregation"], /--averaging touched with --secure-aggregation/],
    [["--preset", "device", "--secure-aggregation"], /--preset device \(touched averaging\) with --secure-aggregation/],
    [["--preset", "handheld"], /--preset must be one of reference, device/],
    [["--personal-weight", "0.5"], /--personal-weight needs --personal-bias and --bias-init click-rate/],
  ];
  for (const [args, msg] of cases) assert.throws(() => serveConfig(parseServeArgs(args)), (e: unknown) => e instanceof UsageError && msg.test(e.message), args.join(" "));
  // with the averaging every round can take, the device preset runs under DP and secure aggregation
  assert.ok(serveConfig(parseServeArgs(["--preset", "device", "--averaging", "all", "--secure-aggregation", ...dp])).dp);
});

test("robust aggregation: train's options and parsing; with secure aggregation, DP, touched averaging or samples weighting a usage error naming both options", () => {
  const args = ["--aggregator", "shared=normbound,group=trimmed", "--aggregator-tensors", "mlp.0=consensus", "--trim", "0.2", "--norm-bound", "2.5", "--agree", "0.4"];
  assert.equal(serveConfig(parseServeArgs(args)).aggregator, configFromArgs(parseTrainArgs(args)).aggregator);
  assert.equal(serveConfig(parseServeArgs(args)).aggregator, { shared: "normbound", group: "trimmed", trim: 0.2, bound: 2.5, agree: 0.4, tensors: [{ pattern: "mlp.0", kind: "consensus" }] });
  // the mean takes every combination
  assert.ok(serveConfig(parseServeArgs(["--aggregator", "mean", "--secure-aggregation"])));
  assert.ok(serveConfig(parseServeArgs(["--aggregator", "mean", "--preset", "device", "--weighting", "samples"])));
  const dp = ["--dp-epsilon", "4", "--dp-delta", "1e-5"];
  const cases: [string[], RegExp][] = [
    [["--aggregator", "median", "--secure-aggregation"], /--aggregator with --secure-aggregation: a robust rule reads each device's update/],
    [["--aggregator-tensors", "mlp.0=consensus", "--secure-aggregation"], /--aggregator-tensors with --secure-aggregation/],
    [["--aggregator", "median", ...dp], /--aggregator with --dp-epsilon: the noise is calibrated to how far one device can move the clipped mean/],
    [["--aggregator", "median", "--secure-aggregation", ...dp], /--aggregator with --secure-aggregation/],
    [["--aggregator", "trimmed", "--preset", "device"], /--preset device \(touched averaging\) with --aggregator: touched averaging stretches the plain mean/],
    [["--aggregator-tensors", "mlp.0=rlr", "--averaging", "touched"], /--averaging touched with --aggregator-tensors/],
    [["--aggregator", "normbound", "--weighting", "samples"], /--weighting samples with --aggregator: a device's sample count is its own claim/],
    [["--aggregator", "mode"], /--aggregator: 'mode' is not one of/],
    [["--trim", "0.5"], /--trim must be a fraction in \[0, 0.5\)/],
  ];
  for (const [a, msg] of cases) assert.throws(() => serveConfig(parseServeArgs(a)), (e: unknown) => e instanceof UsageError && msg.test(e.message), a.join(" "));
  // through the command: exit 2 and the message
  const r = fedfacet("serve", "--state", "unused", "--aggregator", "median", "--secure-aggregation");
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--aggregator with --secure-aggregation/);
});

test("the devices' training windows and step-size schedule are train's options", () => {
  const args = ["--history", "all", "--lr-schedule", "cosine", "--lr-final", "0.2", "--lr-span", "7", "--rounds", "9"];
  const c = serveConfig(parseServeArgs(args));
  assert.equal(c.local, configFromArgs(parseTrainArgs(args)).local);
  assert.equal([c.local.history, c.local.lrSchedule], ["all", { kind: "cosine", final: 0.2, span: 7 }]);
  assert.throws(() => serveConfig(parseServeArgs(["--lr-final", "0.2"])), (e: unknown) => e instanceof UsageError && /--lr-final needs --lr-schedule cosine or exp/.test((e as Error).message));
});

test("data spec: synthetic with options (lists as a/b), or a folder path", () => {
  assert.equal(parseDataSpec("synthetic"), { kind: "synthetic", options: {} });
  assert.equal(parseDataSpec("synthetic:users=40,itemFieldSizes=2/22/37,groupReveal=0.5"), { kind: "synthetic", options: { users: 40, itemFieldSizes: [2, 22, 37], groupReveal: 0.5 } });
  assert.equal(parseDataSpec("data/kuaisar").kind, "folder");
  assert.throws(() => parseDataSpec("synthetic:users=4/5"), /needs a number/);
  assert.throws(() => parseDataSpec("synthetic:users"), /is not name=value/);
});

test("readFolderSchema (feature tables only) equals the schema of the loaded folder, short users dropped or not", () => {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-schema-"));
  try {
    const { raw } = generateSynthetic({ users: 30, items: 80, userFieldSizes: [5, 3], itemFieldSizes: [4, 9, 2] });
    // a user with one impression: buildDataset drops it, its feature row still counts for the codes
    const t = raw.interactions;
    const col = (name: string) => t.columns.find((c) => c.name === name)!.values;
    const keep = Array.from({ length: t.rows }, (_, r) => r).filter((r) => col("user_id")[r] !== 0 || r === t.lines.findIndex((_, i) => col("user_id")[i] === 0));
    const interactions = tableOf(t.file, t.columns, t.columns.map((c) => keep.map((r) => c.values[r]!)));
    writeFolder(join(dir, "f"), { ...raw, interactions }, "syn");
    const loaded = readFolder(join(dir, "f"));
    assert.is(loaded.report.shortUsers, 1);
    const schema = readFolderSchema(join(dir, "f"));
    assert.equal(schema, dataSchemaOf(loaded));
    assert.equal(schema.itemFields.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
